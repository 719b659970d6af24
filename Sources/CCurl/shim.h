// Non-variadic wrappers for libcurl's variadic curl_easy_setopt / curl_easy_getinfo /
// curl_multi_setopt, which Swift cannot call directly. One wrapper per argument type.
#ifndef NURTURE_CCURL_SHIM_H
#define NURTURE_CCURL_SHIM_H

#include <curl/curl.h>
#include <pthread.h>

// glibc's pthread_setname_np, a GNU extension Swift's Glibc module does not show: names the
// calling thread (at most 15 characters) for `top -H` and debuggers. For the transfer threads.
int pthread_setname_np(pthread_t thread, const char *name);

static inline int nurture_name_this_thread(const char *name) {
    return pthread_setname_np(pthread_self(), name);
}

typedef size_t (*nurture_curl_io_callback)(char *buffer, size_t size, size_t count, void *userdata);

static inline CURLcode nurture_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode nurture_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode nurture_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode nurture_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode nurture_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode nurture_curl_setopt_callback(CURL *handle, CURLoption option, nurture_curl_io_callback value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode nurture_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode nurture_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode nurture_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

/// The result of a finished transfer, from a CURLMSG_DONE message (a union member in C).
static inline CURLcode nurture_curl_msg_result(const CURLMsg *message) {
    return message->data.result;
}

#endif
