// "[2, 3, 4]": a tensor shape as error messages show it.
#pragma once

#include <string>

namespace sp {

// `sizes` is any range of integers (std::vector<int64_t>, at::IntArrayRef).
template <class Sizes>
std::string shape_text(const Sizes& sizes) {
  std::string text = "[";
  for (auto it = sizes.begin(); it != sizes.end(); ++it)
    text += (it == sizes.begin() ? "" : ", ") + std::to_string(*it);
  return text + "]";
}

}  // namespace sp
