// librbd data path: read, write, discard, flush on worker threads; aio read/write completed by
// librbd's own threads and handed back to the event loop; diff iteration. Buffers are the
// caller's (no copy) and are kept alive until the operation settles.
#include "image.h"

namespace cn {

// rbd_read2(offset, buffer): resolves with the number of bytes read
Napi::Value ImageHandle::Read(const Napi::CallbackInfo& info) {
  uint64_t off = ArgU64(info, 0, "offset");
  Napi::Buffer<char> buf = ArgBuffer(info, 1, "buffer");
  char* data = buf.Data();
  size_t len = buf.Length();
  rbd_image_t img = image;
  auto n = std::make_shared<int64_t>(0);
  return Run(info, "rbd_read2", &h, [=]() -> int64_t { return *n = rbd_read2(img, off, len, data, 0); },
             [n](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*n)); }, {buf});
}

// rbd_write2(offset, buffer): resolves with the number of bytes written
Napi::Value ImageHandle::Write(const Napi::CallbackInfo& info) {
  uint64_t off = ArgU64(info, 0, "offset");
  Napi::Buffer<char> buf = ArgBuffer(info, 1, "buffer");
  const char* data = buf.Data();
  size_t len = buf.Length();
  rbd_image_t img = image;
  auto n = std::make_shared<int64_t>(0);
  return Run(info, "rbd_write2", &h, [=]() -> int64_t { return *n = rbd_write2(img, off, len, data, 0); },
             [n](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*n)); }, {buf});
}

// rbd_discard(offset, length)
Napi::Value ImageHandle::Discard(const Napi::CallbackInfo& info) {
  uint64_t off = ArgU64(info, 0, "offset"), len = ArgU64(info, 1, "length");
  rbd_image_t img = image;
  return Run(info, "rbd_discard", &h, [=]() -> int64_t { return rbd_discard(img, off, len); });
}

// rbd_flush
Napi::Value ImageHandle::Flush(const Napi::CallbackInfo& info) {
  rbd_image_t img = image;
  return Run(info, "rbd_flush", &h, [=]() -> int64_t { return rbd_flush(img); });
}

namespace {

// One asynchronous I/O: librbd completes it on its own thread; a thread-safe function carries
// the result to the event loop, where the Promise settles and references are dropped.
struct Aio {
  const char* op;
  Handle* handle;
  napi_threadsafe_function tsfn = nullptr;
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Value> buf, self;
  rbd_completion_t completion = nullptr;
  ssize_t rc = 0;
  explicit Aio(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

void AioSettle(napi_env env, napi_value, void*, void* data) {
  std::unique_ptr<Aio> aio(static_cast<Aio*>(data));
  rbd_aio_release(aio->completion);
  if (env == nullptr) return;
  Napi::Env e(env);
  Napi::HandleScope scope(e);
  aio->handle->inflight--;
  if (aio->rc < 0) aio->deferred.Reject(ErrnoError(e, static_cast<int>(-aio->rc), aio->op).Value());
  else aio->deferred.Resolve(Napi::Number::New(e, static_cast<double>(aio->rc)));
  aio->buf.Reset();
  aio->self.Reset();
}

void AioComplete(rbd_completion_t c, void* arg) {
  auto* aio = static_cast<Aio*>(arg);
  aio->rc = rbd_aio_get_return_value(c);
  napi_threadsafe_function tsfn = aio->tsfn;
  napi_call_threadsafe_function(tsfn, aio, napi_tsfn_blocking);
  napi_release_threadsafe_function(tsfn, napi_tsfn_release);
}

Napi::Value StartAio(const Napi::CallbackInfo& info, Handle& h, rbd_image_t img, bool write) {
  const char* op = write ? "rbd_aio_write2" : "rbd_aio_read2";
  Napi::Env env = info.Env();
  CheckOpen(env, h, op);
  uint64_t off = ArgU64(info, 0, "offset");
  Napi::Buffer<char> buf = ArgBuffer(info, 1, "buffer");
  auto* aio = new Aio(env);
  aio->op = op;
  aio->handle = &h;
  if (napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, op), 0, 1, nullptr, nullptr, nullptr,
                                      AioSettle, &aio->tsfn) != napi_ok) {
    delete aio;
    throw Napi::Error::New(env, "cannot create completion channel");
  }
  rbd_aio_create_completion(aio, AioComplete, &aio->completion);
  aio->buf = Napi::Reference<Napi::Value>::New(buf, 1);
  aio->self = Napi::Reference<Napi::Value>::New(info.This(), 1);
  Napi::Promise promise = aio->deferred.Promise();
  h.inflight++;
  int r = write ? rbd_aio_write2(img, off, buf.Length(), buf.Data(), aio->completion, 0)
                : rbd_aio_read2(img, off, buf.Length(), buf.Data(), aio->completion, 0);
  if (r < 0) {
    // Not queued: the callback will never run, so settle here.
    h.inflight--;
    rbd_aio_release(aio->completion);
    napi_release_threadsafe_function(aio->tsfn, napi_tsfn_abort);
    aio->deferred.Reject(ErrnoError(env, -r, op).Value());
    aio->buf.Reset();
    aio->self.Reset();
    delete aio;
  }
  return promise;
}

}  // namespace

// rbd_aio_read2(offset, buffer): completes on librbd's thread; no worker thread is held
Napi::Value ImageHandle::AioRead(const Napi::CallbackInfo& info) { return StartAio(info, h, image, false); }

// rbd_aio_write2(offset, buffer)
Napi::Value ImageHandle::AioWrite(const Napi::CallbackInfo& info) { return StartAio(info, h, image, true); }

// rbd_diff_iterate2(fromSnap|null, offset, length, includeParent, wholeObject):
// resolves a Float64Array of [offset, length, exists] triples.
Napi::Value ImageHandle::DiffIterate(const Napi::CallbackInfo& info) {
  bool hasFrom = !ArgIsNullish(info, 0);
  std::string from = hasFrom ? ArgString(info, 0, "fromSnapshot") : "";
  uint64_t off = ArgU64(info, 1, "offset"), len = ArgU64(info, 2, "length");
  bool includeParent = ArgBool(info, 3, "includeParent"), whole = ArgBool(info, 4, "wholeObject");
  auto out = std::make_shared<std::vector<double>>();
  rbd_image_t img = image;
  return Run(info, "rbd_diff_iterate2", &h, [=]() -> int64_t {
    auto cb = [](uint64_t o, size_t l, int exists, void* arg) -> int {
      auto* v = static_cast<std::vector<double>*>(arg);
      v->push_back(static_cast<double>(o));
      v->push_back(static_cast<double>(l));
      v->push_back(exists ? 1 : 0);
      return 0;
    };
    return rbd_diff_iterate2(img, hasFrom ? from.c_str() : nullptr, off, len, includeParent, whole, cb, out.get());
  }, [out](Napi::Env env) -> Napi::Value { return Float64ArrayFrom(env, *out); });
}

void InitImageIo(Napi::Env env, Napi::Object exports) {}

}  // namespace cn
