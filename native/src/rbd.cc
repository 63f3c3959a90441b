// librbd pool-level calls: they take an IoCtx and an image name. Each function names its C call.
#include "common.h"

namespace cn {

namespace {

// Image options parsed on the main thread, applied on the worker (rbd_image_options_*).
struct ImageOptions {
  std::vector<std::pair<int, uint64_t>> u64;
  std::vector<std::pair<int, std::string>> str;

  static ImageOptions FromArg(const Napi::CallbackInfo& info, size_t i) {
    ImageOptions o;
    if (ArgIsNullish(info, i)) return o;
    if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "options must be an object");
    Napi::Object obj = info[i].As<Napi::Object>();
    const std::pair<const char*, int> numeric[] = {
        {"format", RBD_IMAGE_OPTION_FORMAT},           {"features", RBD_IMAGE_OPTION_FEATURES},
        {"order", RBD_IMAGE_OPTION_ORDER},             {"stripeUnit", RBD_IMAGE_OPTION_STRIPE_UNIT},
        {"stripeCount", RBD_IMAGE_OPTION_STRIPE_COUNT}, {"featuresSet", RBD_IMAGE_OPTION_FEATURES_SET},
        {"featuresClear", RBD_IMAGE_OPTION_FEATURES_CLEAR}, {"cloneFormat", RBD_IMAGE_OPTION_CLONE_FORMAT},
        {"flatten", RBD_IMAGE_OPTION_FLATTEN}};
    for (auto& [key, opt] : numeric) {
      Napi::Value v = obj.Get(key);
      if (v.IsUndefined() || v.IsNull()) continue;
      if (v.IsBoolean()) o.u64.emplace_back(opt, v.As<Napi::Boolean>().Value() ? 1 : 0);
      else if (v.IsBigInt()) {
        bool lossless = true;
        o.u64.emplace_back(opt, v.As<Napi::BigInt>().Uint64Value(&lossless));
      } else if (v.IsNumber() && v.As<Napi::Number>().DoubleValue() >= 0)
        o.u64.emplace_back(opt, static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()));
      else
        throw Napi::TypeError::New(info.Env(), std::string("option ") + key + " must be a non-negative number");
    }
    Napi::Value dp = obj.Get("dataPool");
    if (dp.IsString()) o.str.emplace_back(RBD_IMAGE_OPTION_DATA_POOL, dp.As<Napi::String>().Utf8Value());
    return o;
  }

  // Returns a handle the caller destroys, or -errno.
  int Make(rbd_image_options_t* out) const {
    rbd_image_options_create(out);
    for (auto& [k, v] : u64) {
      int r = rbd_image_options_set_uint64(*out, k, v);
      if (r < 0) return rbd_image_options_destroy(*out), r;
    }
    for (auto& [k, v] : str) {
      int r = rbd_image_options_set_string(*out, k, v.c_str());
      if (r < 0) return rbd_image_options_destroy(*out), r;
    }
    return 0;
  }
};

// rbd_create4(io, name, size, opts)
Napi::Value Create(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  std::string name = ArgString(info, 1, "name");
  uint64_t size = ArgU64(info, 2, "size");
  ImageOptions opts = ImageOptions::FromArg(info, 3);
  rados_ioctx_t io = IoCtxOf(ioh);
  return Run(info, "rbd_create4", HandleOf(ioh), [=]() -> int64_t {
    rbd_image_options_t o;
    int r = opts.Make(&o);
    if (r < 0) return r;
    r = rbd_create4(io, name.c_str(), size, o);
    rbd_image_options_destroy(o);
    return r;
  }, nullptr, {info[0]});
}

// rbd_clone3(p_io, p_name, p_snap, c_io, c_name, opts)
Napi::Value Clone(const Napi::CallbackInfo& info) {
  IoCtxHandle* pio = UnwrapIoCtx(info, 0);
  std::string pname = ArgString(info, 1, "parent name");
  std::string psnap = ArgString(info, 2, "parent snapshot");
  IoCtxHandle* cio = UnwrapIoCtx(info, 3);
  std::string cname = ArgString(info, 4, "clone name");
  ImageOptions opts = ImageOptions::FromArg(info, 5);
  Napi::Env env = info.Env();
  CheckOpen(env, *HandleOf(pio), "rbd_clone3");
  CheckOpen(env, *HandleOf(cio), "rbd_clone3");
  rados_ioctx_t p = IoCtxOf(pio), c = IoCtxOf(cio);
  auto* job = new Job(env, "rbd_clone3", HandleOf(pio), [=]() -> int64_t {
    rbd_image_options_t o;
    int r = opts.Make(&o);
    if (r < 0) return r;
    r = rbd_clone3(p, pname.c_str(), psnap.c_str(), c, cname.c_str(), o);
    rbd_image_options_destroy(o);
    return r;
  });
  // The child context is in use too: count it so it cannot be closed under the clone.
  Handle* ch = HandleOf(cio);
  ch->inflight++;
  job->OnSettled([ch]() { ch->inflight--; });
  job->Keep(info[0]);
  job->Keep(info[3]);
  return job->Start();
}

// rbd_remove_with_progress(io, name)
Napi::Value Remove(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  std::string name = ArgString(info, 1, "name");
  auto progress = Progress::FromArgs(info, 2);
  rados_ioctx_t io = IoCtxOf(ioh);
  return Run(info, "rbd_remove_with_progress", HandleOf(ioh),
             [=]() -> int64_t { return rbd_remove_with_progress(io, name.c_str(), Progress::Callback, progress.get()); }, nullptr,
             {info[0]});
}

// rbd_rename(io, src, dest)
Napi::Value Rename(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  std::string src = ArgString(info, 1, "source name"), dst = ArgString(info, 2, "destination name");
  rados_ioctx_t io = IoCtxOf(ioh);
  return Run(info, "rbd_rename", HandleOf(ioh), [=]() -> int64_t { return rbd_rename(io, src.c_str(), dst.c_str()); }, nullptr,
             {info[0]});
}

// rbd_list2(io): [{id, name}]
Napi::Value List(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  rados_ioctx_t io = IoCtxOf(ioh);
  auto out = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  return Run(info, "rbd_list2", HandleOf(ioh), [=]() -> int64_t {
    size_t max = 64;
    std::vector<rbd_image_spec_t> specs;
    int r;
    do {
      specs.resize(max);
      r = rbd_list2(io, specs.data(), &max);
    } while (r == -ERANGE);
    if (r < 0) return r;
    for (size_t i = 0; i < max; i++) out->emplace_back(specs[i].id, specs[i].name);
    rbd_image_spec_list_cleanup(specs.data(), max);
    return 0;
  }, [out](Napi::Env env) -> Napi::Value {
    Napi::Array arr = Napi::Array::New(env, out->size());
    for (size_t i = 0; i < out->size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", (*out)[i].first);
      o.Set("name", (*out)[i].second);
      arr.Set(i, o);
    }
    return arr;
  }, {info[0]});
}

// rbd_trash_move(io, name, delay)
Napi::Value TrashMove(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  std::string name = ArgString(info, 1, "name");
  uint64_t delay = ArgU64(info, 2, "delay");
  rados_ioctx_t io = IoCtxOf(ioh);
  return Run(info, "rbd_trash_move", HandleOf(ioh), [=]() -> int64_t { return rbd_trash_move(io, name.c_str(), delay); }, nullptr,
             {info[0]});
}

// rbd_trash_list(io): [{id, name, source, deletionTime, defermentEndTime}]
Napi::Value TrashList(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  rados_ioctx_t io = IoCtxOf(ioh);
  struct Entry {
    std::string id, name;
    int source;
    double deleted, deferred;
  };
  auto out = std::make_shared<std::vector<Entry>>();
  return Run(info, "rbd_trash_list", HandleOf(ioh), [=]() -> int64_t {
    size_t n = 32;
    std::vector<rbd_trash_image_info_t> entries;
    int r;
    do {
      entries.resize(n);
      r = rbd_trash_list(io, entries.data(), &n);
    } while (r == -ERANGE);
    if (r < 0) return r;
    for (size_t i = 0; i < n; i++)
      out->push_back({entries[i].id, entries[i].name, static_cast<int>(entries[i].source),
                      static_cast<double>(entries[i].deletion_time), static_cast<double>(entries[i].deferment_end_time)});
    rbd_trash_list_cleanup(entries.data(), n);
    return 0;
  }, [out](Napi::Env env) -> Napi::Value {
    Napi::Array arr = Napi::Array::New(env, out->size());
    for (size_t i = 0; i < out->size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", (*out)[i].id);
      o.Set("name", (*out)[i].name);
      o.Set("source", (*out)[i].source);
      o.Set("deletionTime", (*out)[i].deleted);
      o.Set("defermentEndTime", (*out)[i].deferred);
      arr.Set(i, o);
    }
    return arr;
  }, {info[0]});
}

// rbd_trash_restore(io, id, name)
Napi::Value TrashRestore(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  std::string id = ArgString(info, 1, "id"), name = ArgString(info, 2, "name");
  rados_ioctx_t io = IoCtxOf(ioh);
  return Run(info, "rbd_trash_restore", HandleOf(ioh), [=]() -> int64_t { return rbd_trash_restore(io, id.c_str(), name.c_str()); },
             nullptr, {info[0]});
}

// rbd_trash_remove_with_progress(io, id, force)
Napi::Value TrashRemove(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  std::string id = ArgString(info, 1, "id");
  bool force = ArgBool(info, 2, "force");
  rados_ioctx_t io = IoCtxOf(ioh);
  return Run(info, "rbd_trash_remove", HandleOf(ioh), [=]() -> int64_t { return rbd_trash_remove(io, id.c_str(), force); }, nullptr,
             {info[0]});
}

// rbd_open / rbd_open_read_only(io, name, snap|null, readOnly): an Image handle
Napi::Value Open(const Napi::CallbackInfo& info) {
  IoCtxHandle* ioh = UnwrapIoCtx(info, 0);
  std::string name = ArgString(info, 1, "name");
  bool hasSnap = !ArgIsNullish(info, 2);
  std::string snap = hasSnap ? ArgString(info, 2, "snapshot") : "";
  bool readOnly = ArgBool(info, 3, "readOnly");
  rados_ioctx_t io = IoCtxOf(ioh);
  auto image = std::make_shared<rbd_image_t>(nullptr);
  Napi::Object ioObj = info[0].As<Napi::Object>();
  auto ioRef = std::make_shared<Napi::ObjectReference>(Napi::Persistent(ioObj));
  return Run(info, readOnly ? "rbd_open_read_only" : "rbd_open", HandleOf(ioh), [=]() -> int64_t {
    const char* s = hasSnap ? snap.c_str() : nullptr;
    return readOnly ? rbd_open_read_only(io, name.c_str(), image.get(), s) : rbd_open(io, name.c_str(), image.get(), s);
  }, [image, ioRef](Napi::Env env) -> Napi::Value {
    Napi::Object obj = NewImageHandle(env, *image, ioRef->Value());
    ioRef->Reset();
    return obj;
  });
}

}  // namespace

void InitRbd(Napi::Env env, Napi::Object exports) {
  exports.Set("rbdCreate", Napi::Function::New(env, Create, "rbdCreate"));
  exports.Set("rbdClone", Napi::Function::New(env, Clone, "rbdClone"));
  exports.Set("rbdRemove", Napi::Function::New(env, Remove, "rbdRemove"));
  exports.Set("rbdRename", Napi::Function::New(env, Rename, "rbdRename"));
  exports.Set("rbdList", Napi::Function::New(env, List, "rbdList"));
  exports.Set("rbdTrashMove", Napi::Function::New(env, TrashMove, "rbdTrashMove"));
  exports.Set("rbdTrashList", Napi::Function::New(env, TrashList, "rbdTrashList"));
  exports.Set("rbdTrashRestore", Napi::Function::New(env, TrashRestore, "rbdTrashRestore"));
  exports.Set("rbdTrashRemove", Napi::Function::New(env, TrashRemove, "rbdTrashRemove"));
  exports.Set("rbdOpen", Napi::Function::New(env, Open, "rbdOpen"));
}

}  // namespace cn
