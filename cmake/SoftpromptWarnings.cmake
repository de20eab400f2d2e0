# Warning flags for softprompt's own targets (not for LibTorch's headers, which are SYSTEM includes).
function(softprompt_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(SP_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
