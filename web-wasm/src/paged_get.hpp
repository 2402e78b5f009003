// Reading a whole list from the host: list routes answer pages of at most
// api::kPageLimit items with the cursor of the next page (API.md), and the
// screens want every item (a worker's whole audit log, every account).
// Single-threaded, like the whole UI.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api.hpp"
#include "http.hpp"

namespace ates::ui {

// GETs `base` page by page (?limit=, &after=<next>) until a page has no
// `next`, then calls `done` once: with every item in the host's order, or
// with the first failure (an error, never a partial list shown as whole).
// `get` asks one page (http::get in the UI; a fake in the unit test).
using PageGetter = std::function<void(const std::string& url, http::Callback done)>;

template <typename T>
void get_all_pages(std::string base, api::Result<api::Page<T>> (*parse)(const http::Response&),
                   std::function<void(api::Result<std::vector<T>>)> done, PageGetter get) {
  struct Walk {
    std::string base;
    api::Result<api::Page<T>> (*parse)(const http::Response&);
    std::function<void(api::Result<std::vector<T>>)> done;
    std::vector<T> items;
    PageGetter get;
  };
  auto walk = std::make_shared<Walk>(Walk{std::move(base), parse, std::move(done), {}, std::move(get)});
  // Each answer asks for the next page; the shared state lives as long as
  // the request chain does.
  auto ask = std::make_shared<std::function<void(const std::string&)>>();
  *ask = [walk,
          weak_ask = std::weak_ptr<std::function<void(const std::string&)>>(ask)](const std::string& after) {
    auto keep_ask = weak_ask.lock();
    walk->get(api::page_path(walk->base, after), [walk, keep_ask, after](const http::Response& response) {
      api::Result<api::Page<T>> page = walk->parse(response);
      if (!page.ok()) return walk->done({.error = std::move(page.error)});
      for (T& item : page.value.items) walk->items.push_back(std::move(item));
      if (page.value.next.empty()) return walk->done({.value = std::move(walk->items)});
      // A cursor that does not move would loop for ever, and what was read
      // so far is not the whole list: a failure, not a shorter list.
      if (page.value.next == after) {
        return walk->done({.error = "the host returned the same page cursor twice (" + after + ") for " +
                                    walk->base + "; the list is incomplete"});
      }
      (*keep_ask)(page.value.next);
    });
  };
  (*ask)("");
}

template <typename T>
void get_all_pages(std::string base, api::Result<api::Page<T>> (*parse)(const http::Response&),
                   std::function<void(api::Result<std::vector<T>>)> done) {
  get_all_pages<T>(std::move(base), parse, std::move(done),
                   [](const std::string& url, http::Callback answer) { http::get(url, std::move(answer)); });
}

}  // namespace ates::ui
