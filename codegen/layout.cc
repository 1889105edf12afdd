#include "codegen/layout.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace weft {
namespace codegen {
namespace {

// The repository's .clang-format ColumnLimit, which generated code keeps to
// where it can.
constexpr size_t kColumnLimit = 100;

}  // namespace

std::string FormatComment(std::string_view text, std::string_view indent) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return "";
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    out += indent;
    out += "//";
    if (!line.empty()) {
      out += ' ';
      out += line;
      if (line.back() == '\\') out += '.';
    }
    out += '\n';
    start = end + 1;
  }
  return out;
}

std::string WrapList(const std::string& head, const std::vector<std::string>& items,
                     const std::string& tail, const std::string& indent) {
  std::string joined;
  for (size_t i = 0; i < items.size(); ++i) joined += (i > 0 ? ", " : "") + items[i];
  if (head.size() + joined.size() + tail.size() <= kColumnLimit) {
    return head + joined + tail + "\n";
  }
  if (indent.size() + joined.size() + tail.size() <= kColumnLimit) {
    return head + "\n" + indent + joined + tail + "\n";
  }
  std::string out = head + "\n";
  for (size_t i = 0; i < items.size(); ++i) {
    out += indent + items[i] + (i + 1 < items.size() ? ",\n" : tail + "\n");
  }
  return out;
}

}  // namespace codegen
}  // namespace weft
