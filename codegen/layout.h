// How capnpc-weft lays out the text it generates: schema doc comments as
// `//` lines, and lists wrapped to 100 columns the way clang-format's Google
// style would, so that the generated header reads like hand-formatted code.
//
//   FormatComment("Renames.\n", "  ")                 == "  // Renames.\n"
//   WrapList("  f(", {"int a", "int b"}, ");", "    ") == "  f(int a, int b);\n"
#ifndef WEFT_CODEGEN_LAYOUT_H_
#define WEFT_CODEGEN_LAYOUT_H_

#include <string>
#include <string_view>
#include <vector>

namespace weft {
namespace codegen {

// `text` as `//` comment lines, each prefixed by `indent`; "" for a text that
// is empty once its trailing newlines are dropped. Trailing whitespace is
// dropped from every line, a blank line becomes a bare `//`, and a line
// ending in a backslash gets a '.' appended (a trailing backslash would
// splice the next source line into the comment).
std::string FormatComment(std::string_view text, std::string_view indent);

// `head` + `items` joined by ", " + `tail` and a newline, wrapped to 100
// columns: on one line if it fits; else `head`, then all items on one
// continuation line starting with `indent`; else one item per line.
std::string WrapList(const std::string& head, const std::vector<std::string>& items,
                     const std::string& tail, const std::string& indent);

}  // namespace codegen
}  // namespace weft

#endif  // WEFT_CODEGEN_LAYOUT_H_
