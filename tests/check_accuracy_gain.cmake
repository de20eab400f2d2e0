# Runs a classification example (EXAMPLE MODEL DATA [ARGS]) and fails unless it exits 0 and its
# "held-out accuracy after training: A% (before B%)" line shows A - B >= MIN_GAIN points.
execute_process(COMMAND ${EXAMPLE} ${MODEL} ${DATA} ${ARGS} RESULT_VARIABLE status OUTPUT_VARIABLE output
                ERROR_VARIABLE errors)
message("${output}${errors}")
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the example exited with ${status}")
endif()
if(NOT output MATCHES "accuracy after training: *([0-9]+)\\.([0-9])% *\\(before ([0-9]+)\\.([0-9])%\\)")
  message(FATAL_ERROR "the example printed no before/after accuracy line")
endif()
# Tenths of a point, in integers (CMake's math has no fractions).
math(EXPR gain_tenths "(${CMAKE_MATCH_1} * 10 + ${CMAKE_MATCH_2}) - (${CMAKE_MATCH_3} * 10 + ${CMAKE_MATCH_4})")
math(EXPR needed_tenths "${MIN_GAIN} * 10")
if(gain_tenths LESS needed_tenths)
  message(FATAL_ERROR "accuracy rose by ${gain_tenths} tenths of a point; at least ${MIN_GAIN} points expected")
endif()
message("accuracy gain: ${gain_tenths} tenths of a point (at least ${MIN_GAIN} points expected)")
