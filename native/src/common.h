// The thin native layer: handles, a worker-thread job, and errno errors.
// Every blocking librados/librbd call runs in a Job on a worker thread and settles a Promise;
// failures reject with an Error carrying `errno` (positive) and `op` (the C function), which
// the TypeScript layer maps to typed errors. No logic beyond argument passing lives here.
#pragma once
#include <napi.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cn {

// An Error with errno and the C call that failed; the message is the C library's strerror.
Napi::Error ErrnoError(Napi::Env env, int err, const char* op, const std::string& detail = "");

// Argument readers: a wrong type is a TypeError, never undefined behaviour.
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what);
bool ArgIsNullish(const Napi::CallbackInfo& info, size_t i);
uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i, const char* what);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Buffer<char> ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Value U64(Napi::Env env, uint64_t v);  // Number when exact, else BigInt

// A native handle (rados_t, rados_ioctx_t, rbd_image_t). `inflight` counts jobs using it; close
// refuses while any run or while children are open, so a use-after-free cannot happen even if
// the JavaScript layer misbehaves. All counters are touched on the main thread only.
struct Handle {
  bool closed = false;
  int inflight = 0;
  int children = 0;
  Handle* parent = nullptr;
};

// Throws EBADF (as an errno Error) for a closed handle.
void CheckOpen(Napi::Env env, const Handle& h, const char* op);

// A cancel flag shared between JavaScript and a running operation's progress callback.
class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit CancelToken(const Napi::CallbackInfo& info);
  std::shared_ptr<std::atomic<bool>> flag = std::make_shared<std::atomic<bool>>(false);

 private:
  void Cancel(const Napi::CallbackInfo& info) { flag->store(true); }
  Napi::Value IsCanceled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), flag->load()); }
};

// Progress reporting from a librbd thread to a JavaScript function, plus cancellation:
// the C callback returns -ECANCELED once the token is set, which librbd treats as abort.
struct Progress {
  napi_threadsafe_function tsfn = nullptr;
  std::shared_ptr<std::atomic<bool>> cancel;
  std::atomic<uint64_t> last_percent{1000};
  // Reads (progressFn | undefined, CancelToken | undefined) at info[i], info[i+1].
  static std::shared_ptr<Progress> FromArgs(const Napi::CallbackInfo& info, size_t i);
  ~Progress();
  static int Callback(uint64_t offset, uint64_t total, void* arg);
};

// A Promise-returning job: `work` runs on a worker thread and returns >= 0 or -errno;
// `done` builds the resolved value on the main thread.
class Job : public Napi::AsyncWorker {
 public:
  using Work = std::function<int64_t()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  Job(Napi::Env env, const char* op, Handle* handle, Work work, Done done = nullptr);
  ~Job() override;
  Napi::Promise Start();
  // Keeps a JavaScript value (a Buffer, a parent handle) alive until the job settles.
  void Keep(Napi::Value v);
  // Frees native memory the work allocated, whether or not the job succeeded.
  void OnSettled(std::function<void()> fn) { cleanup_ = std::move(fn); }

 protected:
  void Execute() override { rc_ = work_(); }
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

 private:
  void Release();
  const char* op_;
  Handle* handle_;
  Work work_;
  Done done_;
  std::function<void()> cleanup_;
  int64_t rc_ = 0;
  Napi::Promise::Deferred deferred_;
  std::vector<Napi::Reference<Napi::Value>> kept_;
};

// Shortcut: start a job on `handle` (which must be open) and return its Promise.
Napi::Value Run(const Napi::CallbackInfo& info, const char* op, Handle* handle, Job::Work work,
                Job::Done done = nullptr, std::vector<Napi::Value> keep = {});

// A Float64Array copy of `v` (diff extents, file extents).
Napi::Float64Array Float64ArrayFrom(Napi::Env env, const std::vector<double>& v);

// Module parts.
void InitRados(Napi::Env env, Napi::Object exports);
void InitRbd(Napi::Env env, Napi::Object exports);
void InitImage(Napi::Env env, Napi::Object exports);
void InitImageIo(Napi::Env env, Napi::Object exports);
void InitFile(Napi::Env env, Napi::Object exports);

// The wrapped handle types (defined in rados.cc / image.cc), reachable from the other files.
class RadosHandle;
class IoCtxHandle;
class ImageHandle;
IoCtxHandle* UnwrapIoCtx(const Napi::CallbackInfo& info, size_t i);
rados_ioctx_t IoCtxOf(IoCtxHandle* h);
Handle* HandleOf(IoCtxHandle* h);
ImageHandle* UnwrapImage(const Napi::CallbackInfo& info);
rbd_image_t ImageOf(ImageHandle* h);
Handle* HandleOf(ImageHandle* h);
Napi::Object NewImageHandle(Napi::Env env, rbd_image_t image, Napi::Object ioctx);

}  // namespace cn
