#include "codegen/names.h"

#include <set>
#include <string>
#include <string_view>

namespace weft {
namespace codegen {

std::string SafeIdentifier(std::string_view name) {
  // clang-format off
  static const std::set<std::string_view> kKeywords = {
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break",
      "case", "catch", "char", "char16_t", "char32_t", "class", "compl", "const", "constexpr",
      "const_cast", "continue", "decltype", "default", "delete", "do", "double", "dynamic_cast",
      "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto",
      "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
      "reinterpret_cast", "return", "short", "signed", "sizeof", "static", "static_assert",
      "static_cast", "struct", "switch", "template", "this", "thread_local", "throw", "true", "try",
      "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual", "void", "volatile",
      "wchar_t", "while", "xor", "xor_eq",
      // C++20 keywords capnp 0.9.2 predates.
      "char8_t", "concept", "consteval", "constinit", "co_await", "co_return", "co_yield",
      "requires",
  };
  // clang-format on

  std::string result(name);
  if (kKeywords.count(name) > 0) result += '_';
  return result;
}

std::string TitleCase(std::string_view name) {
  std::string result(name);
  if (!result.empty() && result[0] >= 'a' && result[0] <= 'z') result[0] -= 'a' - 'A';
  return result;
}

std::string SetterName(std::string_view name) { return "set" + TitleCase(name); }

std::string FlatParamName(std::string_view name) {
  std::string result = SafeIdentifier(name);
  if (result == "options") result += '_';
  return result;
}

std::string NamespacePrefix(std::string_view cxx_namespace) {
  if (cxx_namespace.substr(0, 2) == "::") cxx_namespace.remove_prefix(2);
  return cxx_namespace.empty() ? "" : "::" + std::string(cxx_namespace);
}

std::string WithoutGlobalScope(std::string_view qualified) {
  if (qualified.substr(0, 2) == "::") qualified.remove_prefix(2);
  return std::string(qualified);
}

namespace {

// `source` without its ".capnp" suffix (if any), then `suffix`.
std::string GeneratedName(std::string_view source, std::string_view suffix) {
  constexpr std::string_view kCapnp = ".capnp";
  if (source.size() > kCapnp.size() && source.substr(source.size() - kCapnp.size()) == kCapnp) {
    source.remove_suffix(kCapnp.size());
  }
  return std::string(source) + std::string(suffix);
}

}  // namespace

std::string WeftHeaderName(std::string_view source) { return GeneratedName(source, ".weft.h"); }

std::string WeftRpcHeaderName(std::string_view source) {
  return GeneratedName(source, ".weft-rpc.h");
}

}  // namespace codegen
}  // namespace weft
