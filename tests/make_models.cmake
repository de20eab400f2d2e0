# Writes the tiny model folders every suite uses (run as a ctest fixture).
foreach(variant llama llama-tied qwen2 gpt2)
  execute_process(COMMAND ${GENERATOR} ${variant} ${OUT}/${variant} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "make_tiny_model ${variant} failed")
  endif()
endforeach()
# The llama model again, split over three shards with an index file.
execute_process(COMMAND ${GENERATOR} llama ${OUT}/llama-sharded --shards 3 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_tiny_model llama --shards 3 failed")
endif()
# A narrower llama, for adapters that do not fit.
execute_process(COMMAND ${GENERATOR} llama ${OUT}/narrow-llama --hidden 32 --heads 2 --kv-heads 1 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_tiny_model narrow-llama failed")
endif()
# The llama model's shape with other weights: only the embedding fingerprint differs.
execute_process(COMMAND ${GENERATOR} llama ${OUT}/llama-other-weights --seed 99 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_tiny_model llama-other-weights failed")
endif()
# GPT-2 small's attention shape (12 layers, 768 wide, 12 heads) with a small MLP and vocabulary:
# enough for the parameter counts of every method, which do not depend on those.
execute_process(COMMAND ${GENERATOR} gpt2 ${OUT}/gpt2-small-shape --layers 12 --hidden 768 --heads 12
                --intermediate 64 --vocab 256 --positions 64 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_tiny_model gpt2-small-shape failed")
endif()
