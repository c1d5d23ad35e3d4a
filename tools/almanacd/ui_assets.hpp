// The dashboard's static files (ui/ in the source tree), compiled into almanacd by
// cmake/embed_files.cmake and served at /ui/ without the token: they hold no data, and the page
// reads everything through the JSON API with the token the user gives it. Every answer carries
// a strict Content-Security-Policy (only this origin's files, no inline script or style, fetch
// only to this origin, no framing), nosniff, no referrer and no-cache. See docs/TOOLS.md.
#pragma once

#include "tools/almanacd/http_server.hpp"

#include <string_view>

namespace almanac::tools {

// The dashboard's path: the server's open_path, and every path the API routes send here.
inline constexpr std::string_view ui_path = "/ui";

// True for "/ui" and any path under "/ui/".
bool is_ui_path(std::string_view path);

// GET or HEAD of a file: 200 with its type; "/ui" and "/ui/": 308 to "/ui/" and index.html;
// an unknown path: 404; any other method: 405. Nothing else is ever answered from here.
void serve_ui(const http_request& req, http_response& res);

} // namespace almanac::tools
