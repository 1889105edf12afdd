// The C++ spelling rules of codegen/names.h, which must agree with what
// capnpc-c++ declares for the same schema names.
#include "codegen/names.h"

#include "gtest/gtest.h"

namespace weft::codegen {
namespace {

TEST(SafeIdentifierTest, KeywordsGetATrailingUnderscore) {
  EXPECT_EQ(SafeIdentifier("delete"), "delete_");
  EXPECT_EQ(SafeIdentifier("class"), "class_");
  EXPECT_EQ(SafeIdentifier("operator"), "operator_");
  EXPECT_EQ(SafeIdentifier("xor_eq"), "xor_eq_");
}

TEST(SafeIdentifierTest, Cxx20KeywordsAreKeywordsToo) {
  EXPECT_EQ(SafeIdentifier("concept"), "concept_");
  EXPECT_EQ(SafeIdentifier("requires"), "requires_");
  EXPECT_EQ(SafeIdentifier("co_await"), "co_await_");
  EXPECT_EQ(SafeIdentifier("char8_t"), "char8_t_");
}

TEST(SafeIdentifierTest, OtherNamesAreKept) {
  EXPECT_EQ(SafeIdentifier("countTo"), "countTo");
  EXPECT_EQ(SafeIdentifier("call"), "call");
  EXPECT_EQ(SafeIdentifier("options"), "options");
  EXPECT_EQ(SafeIdentifier("Delete"), "Delete");  // keywords are case-sensitive
  EXPECT_EQ(SafeIdentifier("deleted"), "deleted");
  EXPECT_EQ(SafeIdentifier(""), "");
}

TEST(TitleCaseTest, UppercasesOnlyALeadingLowercaseLetter) {
  EXPECT_EQ(TitleCase("countTo"), "CountTo");
  EXPECT_EQ(TitleCase("x"), "X");
  EXPECT_EQ(TitleCase("Already"), "Already");
  EXPECT_EQ(TitleCase("9lives"), "9lives");
  EXPECT_EQ(TitleCase(""), "");
}

TEST(SetterNameTest, IsSetAndTheTitleCasedName) {
  EXPECT_EQ(SetterName("byUnit"), "setByUnit");
  EXPECT_EQ(SetterName("x"), "setX");
  // capnpc-c++ keeps the schema name, keyword or not: `class` -> setClass.
  EXPECT_EQ(SetterName("class"), "setClass");
}

TEST(FlatParamNameTest, KeywordsAndTheStubsOwnOptionsParameterAreRenamed) {
  EXPECT_EQ(FlatParamName("value"), "value");
  EXPECT_EQ(FlatParamName("new"), "new_");
  EXPECT_EQ(FlatParamName("options"), "options_");
  EXPECT_EQ(FlatParamName("option"), "option");
}

TEST(NamespacePrefixTest, IsFullyQualifiedEitherWay) {
  EXPECT_EQ(NamespacePrefix("weft_test::shapes"), "::weft_test::shapes");
  EXPECT_EQ(NamespacePrefix("::weft_test::shapes"), "::weft_test::shapes");
  EXPECT_EQ(NamespacePrefix("quickstart"), "::quickstart");
}

TEST(NamespacePrefixTest, TheGlobalNamespaceIsEmpty) {
  EXPECT_EQ(NamespacePrefix(""), "");
  EXPECT_EQ(NamespacePrefix("::"), "");
}

TEST(WithoutGlobalScopeTest, DropsOnlyALeadingDoubleColon) {
  EXPECT_EQ(WithoutGlobalScope("::quickstart::Math"), "quickstart::Math");
  EXPECT_EQ(WithoutGlobalScope("::Plain"), "Plain");
  EXPECT_EQ(WithoutGlobalScope("quickstart::Math"), "quickstart::Math");
  EXPECT_EQ(WithoutGlobalScope(""), "");
}

TEST(WeftHeaderNameTest, ReplacesTheCapnpSuffix) {
  EXPECT_EQ(WeftHeaderName("examples/quickstart/math.capnp"), "examples/quickstart/math.weft.h");
  EXPECT_EQ(WeftHeaderName("x.capnp"), "x.weft.h");
}

TEST(WeftHeaderNameTest, AppendsWithoutACapnpSuffix) {
  EXPECT_EQ(WeftHeaderName("dir/schema"), "dir/schema.weft.h");
  EXPECT_EQ(WeftHeaderName("x.capnp.bak"), "x.capnp.bak.weft.h");
  // A bare suffix is not a file name with the suffix.
  EXPECT_EQ(WeftHeaderName(".capnp"), ".capnp.weft.h");
}

TEST(WeftRpcHeaderNameTest, FollowsTheWeftHeader) {
  EXPECT_EQ(WeftRpcHeaderName("examples/quickstart/math.capnp"),
            "examples/quickstart/math.weft-rpc.h");
  EXPECT_EQ(WeftRpcHeaderName("dir/schema"), "dir/schema.weft-rpc.h");
  EXPECT_EQ(WeftRpcHeaderName(".capnp"), ".capnp.weft-rpc.h");
}

}  // namespace
}  // namespace weft::codegen
