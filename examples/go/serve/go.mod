// The Go HTTP service example. It needs the softprompt Go package, which is generated at build
// time: the build copies this module next to it and adds
//   replace softprompt.dev/softprompt => <build>/bindings/go/softprompt
// (see bindings/go/README.md to do the same by hand). Standard library only otherwise.
module softprompt.dev/examples/serve

go 1.19

require softprompt.dev/softprompt v0.0.0
