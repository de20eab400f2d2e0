# Finds LibTorch. Order of preference:
#   1. Torch_DIR given by the user (e.g. an official LibTorch archive: -DTorch_DIR=.../share/cmake/Torch);
#   2. the `torch` wheel inside the project's virtual environment (SP_PYTHON, default .venv/bin/python),
#      which scripts/setup.sh installs at the version pinned in scripts/python-requirements.txt.
# Debian's libtorch-dev (1.13) is too old and is never picked up implicitly.
set(SP_PYTHON "${PROJECT_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH "Python of the project's virtual environment")

if(NOT Torch_DIR)
  if(NOT EXISTS "${SP_PYTHON}")
    message(FATAL_ERROR "No LibTorch: run scripts/setup.sh (creates ${SP_PYTHON}) or pass -DTorch_DIR=<libtorch>/share/cmake/Torch")
  endif()
  execute_process(
    COMMAND "${SP_PYTHON}" -c "import torch, os; print(os.path.join(torch.utils.cmake_prefix_path, 'Torch'))"
    OUTPUT_VARIABLE _sp_torch_dir OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _sp_torch_rc)
  if(NOT _sp_torch_rc EQUAL 0)
    message(FATAL_ERROR "${SP_PYTHON} cannot import torch: run scripts/setup.sh")
  endif()
  set(Torch_DIR "${_sp_torch_dir}" CACHE PATH "LibTorch CMake folder" FORCE)
endif()

# The CUDA wheels configure CUDA through the toolkit; without an explicit list they probe for a GPU
# and fall back to every architecture. Hopper (H100/H200) is what we run on.
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST "9.0")
endif()
if(EXISTS /usr/local/cuda/bin/nvcc AND NOT CMAKE_CUDA_COMPILER)
  set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
endif()

find_package(Torch REQUIRED)
message(STATUS "softprompt: LibTorch ${Torch_VERSION} from ${Torch_DIR}")

# Whether this LibTorch can run on CUDA (the wheel from PyPI can; CPU archives cannot).
if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES OR CAFFE2_USE_CUDA OR USE_CUDA)
  set(SP_TORCH_HAS_CUDA ON)
else()
  set(SP_TORCH_HAS_CUDA OFF)
endif()
message(STATUS "softprompt: CUDA code path ${SP_TORCH_HAS_CUDA}")

# LibTorch's headers are not ours to fix: include them as system headers so -Werror ignores them.
get_target_property(_sp_torch_includes torch INTERFACE_INCLUDE_DIRECTORIES)
set_target_properties(torch PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_sp_torch_includes}")
