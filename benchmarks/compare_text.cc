#include "benchmarks/compare_text.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace weft_bench {

std::string Join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

std::string Plain(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {  // ESC [ ... final byte
      if (i + 1 < text.size() && text[i + 1] == '[') {
        for (i += 2; i < text.size() && !(text[i] >= 0x40 && text[i] <= 0x7e); ++i) {
        }
      }
      continue;
    }
    if (c == '\n') {
      while (!out.empty() && out.back() == ' ') out.pop_back();
      if (!out.empty() && i + 1 < text.size()) out += " / ";
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      out.push_back(' ');
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '/')) out.pop_back();
  return out;
}

std::string Md(const std::string& text) {
  std::string out;
  for (const char c : Plain(text)) {
    switch (c) {
      case '|':
        out += "\\|";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '`':
      case '*':
      case '\\':
        out.push_back('\\');
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Format(std::optional<double> v, const char* unit) {
  if (!v) return "—";
  char buf[64];
  const double x = *v;
  if (std::string(unit) == "ns") {
    if (x >= 1e6) {
      std::snprintf(buf, sizeof(buf), "%.2f ms", x / 1e6);
    } else if (x >= 1e3) {
      std::snprintf(buf, sizeof(buf), "%.2f µs", x / 1e3);
    } else {
      std::snprintf(buf, sizeof(buf), "%.0f ns", x);
    }
  } else if (std::string(unit) == "rate") {
    if (x >= 1e6) {
      std::snprintf(buf, sizeof(buf), "%.2f M", x / 1e6);
    } else if (x >= 1e3) {
      std::snprintf(buf, sizeof(buf), "%.1f k", x / 1e3);
    } else {
      std::snprintf(buf, sizeof(buf), "%.1f", x);
    }
  } else {
    // Small figures (idle CPU) keep two significant digits.
    std::snprintf(buf, sizeof(buf),
                  x >= 100                       ? "%.0f"
                  : x >= 10                      ? "%.1f"
                  : x != 0 && std::fabs(x) < 0.1 ? "%.2g"
                                                 : "%.2f",
                  x);
  }
  return buf;
}

Json JsonNumber(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", *v);
  return std::strtod(buf, nullptr);
}

}  // namespace weft_bench
