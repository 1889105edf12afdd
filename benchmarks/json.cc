#include "benchmarks/json.h"

#include <cstdio>
#include <cstdlib>

namespace json {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  bool ParseValue(Value& v) {
    Skip();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') return ParseObject(v);
    if (c == '[') return ParseArray(v);
    if (c == '"') {
      v.kind = Value::kString;
      return ParseString(v.string);
    }
    if (Literal("true")) {
      v.kind = Value::kBool;
      v.boolean = true;
      return true;
    }
    if (Literal("false")) {
      v.kind = Value::kBool;
      return true;
    }
    if (Literal("null")) return true;
    return ParseNumber(v);
  }

  bool AtEnd() {
    Skip();
    return i_ == s_.size();
  }

 private:
  void Skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) {
      ++i_;
    }
  }
  bool Literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool Expect(char c) {
    Skip();
    if (i_ >= s_.size() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool ParseNumber(Value& v) {
    const std::string rest(s_.substr(i_, 64));
    char* end = nullptr;
    v.number = std::strtod(rest.c_str(), &end);
    if (end == rest.c_str()) return false;
    v.kind = Value::kNumber;
    i_ += static_cast<size_t>(end - rest.c_str());
    return true;
  }
  bool ParseString(std::string& out) {
    if (!Expect('"')) return false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case 'n': out.push_back('\n'); break;
        case 't': out.push_back('\t'); break;
        case 'r': out.push_back('\r'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          const unsigned code = std::strtoul(std::string(s_.substr(i_, 4)).c_str(), nullptr, 16);
          i_ += 4;
          // Enough for the ASCII Google Benchmark writes; others become '?'.
          out.push_back(code < 0x80 ? static_cast<char>(code) : '?');
          break;
        }
        default: out.push_back(e);
      }
    }
    return false;
  }
  bool ParseArray(Value& v) {
    v.kind = Value::kArray;
    ++i_;
    Skip();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return true;
    }
    for (;;) {
      v.array.emplace_back();
      if (!ParseValue(v.array.back())) return false;
      Skip();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      return Expect(']');
    }
  }
  bool ParseObject(Value& v) {
    v.kind = Value::kObject;
    ++i_;
    Skip();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return true;
    }
    for (;;) {
      Skip();
      std::string key;
      if (!ParseString(key) || !Expect(':')) return false;
      if (!ParseValue(v.object[key])) return false;
      Skip();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      return Expect('}');
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

const Value& Value::operator[](const std::string& key) const {
  static const Value kNullValue;
  auto it = object.find(key);
  return it == object.end() ? kNullValue : it->second;
}

std::optional<Value> Parse(std::string_view text) {
  Parser p(text);
  Value v;
  if (!p.ParseValue(v) || !p.AtEnd()) return std::nullopt;
  return v;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

}  // namespace json
