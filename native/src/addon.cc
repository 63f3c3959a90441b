// Module entry and the shared machinery declared in common.h.
#include "common.h"

namespace cn {

Napi::Error ErrnoError(Napi::Env env, int err, const char* op, const std::string& detail) {
  std::string msg = std::string(op) + ": " + std::strerror(err);
  if (!detail.empty()) msg += " (" + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("op", Napi::String::New(env, op));
  if (!detail.empty()) e.Set("detail", Napi::String::New(env, detail));
  return e;
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(info.Env(), std::string(what) + " contains NUL");
  return s;
}

bool ArgIsNullish(const Napi::CallbackInfo& info, size_t i) { return info[i].IsUndefined() || info[i].IsNull(); }

uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info[i].IsBigInt()) {
    bool lossless = true;
    uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Napi::RangeError::New(info.Env(), std::string(what) + " out of range");
    return v;
  }
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d > 9007199254740991.0 || d != static_cast<double>(static_cast<uint64_t>(d)))
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be a non-negative integer");
  return static_cast<uint64_t>(d);
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (ArgIsNullish(info, i)) return false;
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

Napi::Buffer<char> ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (!info[i].IsBuffer()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a Buffer");
  return info[i].As<Napi::Buffer<char>>();
}

Napi::Value U64(Napi::Env env, uint64_t v) {
  if (v <= 9007199254740991ULL) return Napi::Number::New(env, static_cast<double>(v));
  return Napi::BigInt::New(env, v);
}

void CheckOpen(Napi::Env env, const Handle& h, const char* op) {
  if (h.closed) throw ErrnoError(env, EBADF, op, "handle is closed");
}

// ---- CancelToken ----
void CancelToken::Init(Napi::Env env, Napi::Object exports) {
  exports.Set("CancelToken", DefineClass(env, "CancelToken",
                                         {InstanceMethod<&CancelToken::Cancel>("cancel"),
                                          InstanceMethod<&CancelToken::IsCanceled>("isCanceled")}));
}
CancelToken::CancelToken(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CancelToken>(info) {}

// ---- Progress ----
namespace {
struct ProgressEvent {
  uint64_t offset, total;
};
void CallProgress(napi_env env, napi_value fn, void* context, void* data) {
  std::unique_ptr<ProgressEvent> ev(static_cast<ProgressEvent*>(data));
  if (env == nullptr || fn == nullptr) return;
  Napi::Env e(env);
  Napi::Function f(env, fn);
  try {
    f.Call({Napi::Number::New(env, static_cast<double>(ev->offset)), Napi::Number::New(env, static_cast<double>(ev->total))});
  } catch (const Napi::Error&) {
    // A throwing progress listener must not take down the operation; the TS layer wraps listeners.
  }
}
}  // namespace

std::shared_ptr<Progress> Progress::FromArgs(const Napi::CallbackInfo& info, size_t i) {
  auto p = std::make_shared<Progress>();
  if (info.Length() > i && info[i].IsFunction()) {
    napi_status s = napi_create_threadsafe_function(info.Env(), info[i], nullptr,
                                                    Napi::String::New(info.Env(), "rbd-progress"), 0, 1, nullptr,
                                                    nullptr, nullptr, CallProgress, &p->tsfn);
    if (s != napi_ok) throw Napi::Error::New(info.Env(), "cannot create progress channel");
  }
  if (info.Length() > i + 1 && info[i + 1].IsObject()) {
    p->cancel = CancelToken::Unwrap(info[i + 1].As<Napi::Object>())->flag;
  }
  return p;
}

Progress::~Progress() {
  if (tsfn != nullptr) napi_release_threadsafe_function(tsfn, napi_tsfn_release);
}

int Progress::Callback(uint64_t offset, uint64_t total, void* arg) {
  auto* p = static_cast<Progress*>(arg);
  if (p->cancel && p->cancel->load()) return -ECANCELED;
  if (p->tsfn != nullptr && total > 0) {
    // At most one event per percent: a 10 000-object flatten must not flood the event loop.
    uint64_t pct = offset * 100 / total;
    if (pct != p->last_percent.exchange(pct)) {
      napi_call_threadsafe_function(p->tsfn, new ProgressEvent{offset, total}, napi_tsfn_nonblocking);
    }
  }
  return 0;
}

Napi::Float64Array Float64ArrayFrom(Napi::Env env, const std::vector<double>& v) {
  Napi::Float64Array arr = Napi::Float64Array::New(env, v.size());
  if (!v.empty()) std::memcpy(arr.Data(), v.data(), v.size() * sizeof(double));
  return arr;
}

// ---- Job ----
Job::Job(Napi::Env env, const char* op, Handle* handle, Work work, Done done)
    : Napi::AsyncWorker(env, op), op_(op), handle_(handle), work_(std::move(work)), done_(std::move(done)),
      deferred_(Napi::Promise::Deferred::New(env)) {
  if (handle_) handle_->inflight++;
}

Job::~Job() = default;

void Job::Keep(Napi::Value v) {
  if (v.IsObject() || v.IsFunction()) kept_.emplace_back(Napi::Reference<Napi::Value>::New(v, 1));
}

Napi::Promise Job::Start() {
  Queue();
  return deferred_.Promise();
}

void Job::Release() {
  if (handle_) handle_->inflight--;
  if (cleanup_) cleanup_();
  for (auto& r : kept_) r.Reset();
}

void Job::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Release();
  if (rc_ < 0) {
    deferred_.Reject(ErrnoError(env, static_cast<int>(-rc_), op_).Value());
    return;
  }
  try {
    deferred_.Resolve(done_ ? done_(env) : env.Undefined());
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void Job::OnError(const Napi::Error& e) {
  Release();
  deferred_.Reject(e.Value());
}

Napi::Value Run(const Napi::CallbackInfo& info, const char* op, Handle* handle, Job::Work work, Job::Done done,
                std::vector<Napi::Value> keep) {
  if (handle) CheckOpen(info.Env(), *handle, op);
  auto* job = new Job(info.Env(), op, handle, std::move(work), std::move(done));
  job->Keep(info.This());
  for (auto& v : keep) job->Keep(v);
  return job->Start();
}

}  // namespace cn

static Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  cn::CancelToken::Init(env, exports);
  cn::InitRados(env, exports);
  cn::InitRbd(env, exports);
  cn::InitImage(env, exports);
  cn::InitImageIo(env, exports);
  cn::InitFile(env, exports);
  return exports;
}

NODE_API_MODULE(ceph_native, InitAll)
