#include "tools/almanacd/ui_assets.hpp"

#include <cstddef>
#include <string>

// Generated at build time from ui/ (cmake/embed_files.cmake).
namespace almanac::tools::ui_files {
struct file {
  const char* name;
  const unsigned char* data;
  std::size_t size;
};
extern const file files[];
extern const std::size_t count;
} // namespace almanac::tools::ui_files

namespace almanac::tools {

namespace {

std::string_view type_of(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html"))
    return "text/html; charset=utf-8";
  if (ends(".css"))
    return "text/css; charset=utf-8";
  if (ends(".js"))
    return "text/javascript; charset=utf-8";
  if (ends(".svg"))
    return "image/svg+xml";
  if (ends(".png"))
    return "image/png";
  return "application/octet-stream";
}

// The page's own files and fetch() to this origin only; no inline script or style (an injected
// tag runs nothing), no plugins, no <base>, no form posts, no framing (clickjacking).
constexpr const char* csp = "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self'; connect-src 'self'; font-src 'none'; "
                            "object-src 'none'; base-uri 'none'; form-action 'none'; "
                            "frame-ancestors 'none'";

void strict_headers(http_response& res) {
  res.set_header("Content-Security-Policy", csp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  // Revalidated on every load: a new almanacd never runs with an old page's script.
  res.set_header("Cache-Control", "no-cache");
}

void error_json(http_response& res, int status, std::string_view code, std::string message) {
  res.status = status;
  // The message is built from fixed texts only: a request's path is never echoed.
  res.set_content("{\"error\":\"" + std::string{code} + "\",\"message\":\"" + message + "\"}",
                  "application/json");
}

} // namespace

bool is_ui_path(std::string_view path) {
  return path.rfind(ui_path, 0) == 0
         && (path.size() == ui_path.size() || path[ui_path.size()] == '/');
}

void serve_ui(const http_request& req, http_response& res) {
  strict_headers(res);
  if (req.method != "GET" && req.method != "HEAD") {
    res.set_header("Allow", "GET, HEAD");
    return error_json(res, 405, "method_not_allowed", "the dashboard's files are read only");
  }
  std::string_view path = req.path;
  if (path == ui_path) {
    res.status = 308;
    res.set_header("Location", std::string{ui_path} + "/");
    return;
  }
  auto name = path.substr(ui_path.size() + 1);
  if (name.empty())
    name = "index.html";
  for (std::size_t i = 0; i < ui_files::count; ++i) {
    const auto& f = ui_files::files[i];
    if (name == f.name) {
      res.status = 200;
      res.set_content(std::string{reinterpret_cast<const char*>(f.data), f.size},
                      std::string{type_of(name)});
      return;
    }
  }
  error_json(res, 404, "not_found", "no such file of the dashboard");
}

} // namespace almanac::tools
