#include "runtime/internal/stderr_log.h"

#include <memory>

#include "spdlog/logger.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace weft {
namespace internal {
namespace {

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarning:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      break;
  }
  return spdlog::level::off;
}

spdlog::logger& StderrLogger() {
  // A function-local static: made once, thread-safely, on first use. Leaked
  // on purpose (see the header).
  static spdlog::logger* const logger = [] {
    auto* made = new spdlog::logger("weft", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    made->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] [%n] %v");
    made->set_level(spdlog::level::trace);  // the pool's Logger filters
    made->flush_on(spdlog::level::trace);   // lifecycle events are rare: each line at once
    return made;
  }();
  return *logger;
}

}  // namespace

void WriteToStderrLog(const LogEvent& event) {
  const spdlog::level::level_enum level = ToSpdlog(event.level);
  if (level == spdlog::level::off) return;
  StderrLogger().log(level, spdlog::string_view_t(event.message));
}

}  // namespace internal
}  // namespace weft
