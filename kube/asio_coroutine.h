// Boost.Asio's C++20 coroutine support as kube/ uses it (awaitable, co_spawn, use_awaitable),
// with the one compiler quirk it needs silenced in one place.
#pragma once

// GCC 12 reports asio's coroutine frame operator delete as mismatched with its operator new
// (a false positive: both are asio's own, in awaitable_frame_base); it fires at the end of
// every translation unit that defines an awaitable.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
