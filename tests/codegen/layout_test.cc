// How codegen/layout.h lays out generated text: doc comments, and lists
// wrapped to 100 columns in the three ways clang-format would.
#include "codegen/layout.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace weft::codegen {
namespace {

TEST(FormatCommentTest, EachLineBecomesAnIndentedComment) {
  EXPECT_EQ(FormatComment("The area.\nIn units squared.\n", "  "),
            "  // The area.\n  // In units squared.\n");
  EXPECT_EQ(FormatComment("No newline", ""), "// No newline\n");
}

TEST(FormatCommentTest, EmptyTextHasNoComment) {
  EXPECT_EQ(FormatComment("", "  "), "");
  EXPECT_EQ(FormatComment("\n\r\n", "  "), "");
}

TEST(FormatCommentTest, BlankLinesAreBareAndTrailingWhitespaceIsDropped) {
  EXPECT_EQ(FormatComment("First.\n\nSecond. \t\r\n", ""), "// First.\n//\n// Second.\n");
  EXPECT_EQ(FormatComment("First.\n   \nSecond.", ""), "// First.\n//\n// Second.\n");
}

TEST(FormatCommentTest, LeadingWhitespaceIsKept) {
  EXPECT_EQ(FormatComment("List:\n  - item", ""), "// List:\n//   - item\n");
}

TEST(FormatCommentTest, ATrailingBackslashCannotSpliceTheNextLine) {
  EXPECT_EQ(FormatComment("C:\\dir\\\nnext", ""), "// C:\\dir\\.\n// next\n");
}

TEST(WrapListTest, FitsOnOneLine) {
  EXPECT_EQ(WrapList("  f(", {"int a", "int b"}, ");", "      "), "  f(int a, int b);\n");
  EXPECT_EQ(WrapList("  f(", {}, ");", "      "), "  f();\n");
}

TEST(WrapListTest, ExactlyOneHundredColumnsStillFits) {
  const std::string item(100 - 4 - 2, 'x');
  EXPECT_EQ(WrapList("  f(", {item}, ");", "    "), "  f(" + item + ");\n");
}

TEST(WrapListTest, ItemsMoveToOneContinuationLine) {
  const std::string head = "  " + std::string(60, 'h') + "(";
  const std::vector<std::string> items = {std::string(30, 'a'), std::string(30, 'b')};
  EXPECT_EQ(WrapList(head, items, ") {", "      "),
            head + "\n      " + items[0] + ", " + items[1] + ") {\n");
}

TEST(WrapListTest, OneItemPerLineWhenTheyDoNotFitTogether) {
  const std::string head = "  f(";
  const std::vector<std::string> items = {std::string(50, 'a'), std::string(50, 'b'), "c"};
  EXPECT_EQ(WrapList(head, items, ");", "      "),
            "  f(\n      " + items[0] + ",\n      " + items[1] + ",\n      c);\n");
}

}  // namespace
}  // namespace weft::codegen
