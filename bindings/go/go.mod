module softprompt.dev/softprompt

go 1.19
