// librbd image calls: lifetime, metadata, snapshots, layering. Each method names its C call.
#include "image.h"

namespace cn {

Napi::FunctionReference ImageHandle::ctor;

void ImageHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "Image",
                                 {InstanceMethod<&ImageHandle::Close>("close"),
                                  InstanceMethod<&ImageHandle::State>("state"),
                                  InstanceMethod<&ImageHandle::Stat>("stat"),
                                  InstanceMethod<&ImageHandle::Size>("size"),
                                  InstanceMethod<&ImageHandle::Id>("id"),
                                  InstanceMethod<&ImageHandle::Resize>("resize"),
                                  InstanceMethod<&ImageHandle::Flatten>("flatten"),
                                  InstanceMethod<&ImageHandle::ParentInfo>("parentInfo"),
                                  InstanceMethod<&ImageHandle::ListChildren>("listChildren"),
                                  InstanceMethod<&ImageHandle::SnapList>("snapList"),
                                  InstanceMethod<&ImageHandle::SnapCreate>("snapCreate"),
                                  InstanceMethod<&ImageHandle::SnapRemove>("snapRemove"),
                                  InstanceMethod<&ImageHandle::SnapProtect>("snapProtect"),
                                  InstanceMethod<&ImageHandle::SnapUnprotect>("snapUnprotect"),
                                  InstanceMethod<&ImageHandle::SnapIsProtected>("snapIsProtected"),
                                  InstanceMethod<&ImageHandle::SnapExists>("snapExists"),
                                  InstanceMethod<&ImageHandle::SnapRollback>("snapRollback"),
                                  InstanceMethod<&ImageHandle::SnapGetLimit>("snapGetLimit"),
                                  InstanceMethod<&ImageHandle::SnapSetLimit>("snapSetLimit"),
                                  InstanceMethod<&ImageHandle::Features>("features"),
                                  InstanceMethod<&ImageHandle::UpdateFeatures>("updateFeatures"),
                                  InstanceMethod<&ImageHandle::Watchers>("watchers"),
                                  InstanceMethod<&ImageHandle::MetadataGet>("metadataGet"),
                                  InstanceMethod<&ImageHandle::MetadataSet>("metadataSet"),
                                  InstanceMethod<&ImageHandle::MetadataRemove>("metadataRemove"),
                                  InstanceMethod<&ImageHandle::Copy>("copy"),
                                  InstanceMethod<&ImageHandle::Read>("read"),
                                  InstanceMethod<&ImageHandle::Write>("write"),
                                  InstanceMethod<&ImageHandle::Discard>("discard"),
                                  InstanceMethod<&ImageHandle::Flush>("flush"),
                                  InstanceMethod<&ImageHandle::AioRead>("aioRead"),
                                  InstanceMethod<&ImageHandle::AioWrite>("aioWrite"),
                                  InstanceMethod<&ImageHandle::DiffIterate>("diffIterate")});
  ctor = Napi::Persistent(f);
  exports.Set("Image", f);
}

// Made only by rbdOpen: (External<rbd_image_t>, parent IoCtx).
ImageHandle::ImageHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ImageHandle>(info) {
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsObject())
    throw Napi::TypeError::New(info.Env(), "Image is created by rbdOpen()");
  image = info[0].As<Napi::External<void>>().Data();
  parent_ = Napi::Persistent(info[1].As<Napi::Object>());
  h.parent = HandleOf(UnwrapIoCtx(info, 1));
  h.parent->children++;
}

// Last resort for an image garbage-collected while open: rbd_close on the main thread.
ImageHandle::~ImageHandle() {
  if (!h.closed) {
    rbd_close(image);
    if (h.parent) h.parent->children--;
  }
}

Napi::Object NewImageHandle(Napi::Env env, rbd_image_t image, Napi::Object ioctx) {
  return ImageHandle::ctor.New({Napi::External<void>::New(env, image), ioctx});
}

ImageHandle* UnwrapImage(const Napi::CallbackInfo& info) { return ImageHandle::Unwrap(info.This().As<Napi::Object>()); }
rbd_image_t ImageOf(ImageHandle* h) { return h->image; }
Handle* HandleOf(ImageHandle* h) { return &h->h; }

Napi::Value ImageHandle::State(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("closed", h.closed);
  o.Set("inflight", h.inflight);
  return o;
}

// rbd_close: refused while operations are in flight.
Napi::Value ImageHandle::Close(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rbd_close");
  if (h.inflight > 0) throw ErrnoError(info.Env(), EBUSY, "rbd_close", "operations still in flight");
  h.closed = true;
  rbd_image_t img = image;
  Handle* parent = h.parent;
  auto* job = new Job(info.Env(), "rbd_close", nullptr, [img]() -> int64_t { return rbd_close(img); });
  job->OnSettled([parent]() {
    if (parent) parent->children--;
  });
  job->Keep(info.This());
  return job->Start();
}

// rbd_stat
Napi::Value ImageHandle::Stat(const Napi::CallbackInfo& info) {
  auto st = std::make_shared<rbd_image_info_t>();
  rbd_image_t img = image;
  return Run(info, "rbd_stat", &h, [img, st]() -> int64_t { return rbd_stat(img, st.get(), sizeof(*st)); },
             [st](Napi::Env env) -> Napi::Value {
               Napi::Object o = Napi::Object::New(env);
               o.Set("size", U64(env, st->size));
               o.Set("objSize", U64(env, st->obj_size));
               o.Set("numObjs", U64(env, st->num_objs));
               o.Set("order", st->order);
               return o;
             });
}

// rbd_get_size
Napi::Value ImageHandle::Size(const Napi::CallbackInfo& info) {
  auto size = std::make_shared<uint64_t>(0);
  rbd_image_t img = image;
  return Run(info, "rbd_get_size", &h, [img, size]() -> int64_t { return rbd_get_size(img, size.get()); },
             [size](Napi::Env env) -> Napi::Value { return U64(env, *size); });
}

// rbd_get_id
Napi::Value ImageHandle::Id(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rbd_get_id");
  char buf[64] = {0};
  int r = rbd_get_id(image, buf, sizeof(buf));
  if (r < 0) throw ErrnoError(info.Env(), -r, "rbd_get_id");
  return Napi::String::New(info.Env(), buf);
}

// rbd_resize2(size, allowShrink, progress, cancel)
Napi::Value ImageHandle::Resize(const Napi::CallbackInfo& info) {
  uint64_t size = ArgU64(info, 0, "size");
  bool shrink = ArgBool(info, 1, "allowShrink");
  auto p = Progress::FromArgs(info, 2);
  rbd_image_t img = image;
  return Run(info, "rbd_resize2", &h, [=]() -> int64_t { return rbd_resize2(img, size, shrink, Progress::Callback, p.get()); });
}

// rbd_flatten_with_progress(progress, cancel)
Napi::Value ImageHandle::Flatten(const Napi::CallbackInfo& info) {
  auto p = Progress::FromArgs(info, 0);
  rbd_image_t img = image;
  return Run(info, "rbd_flatten_with_progress", &h,
             [=]() -> int64_t { return rbd_flatten_with_progress(img, Progress::Callback, p.get()); });
}

// rbd_get_parent: rejects ENOENT when the image has no parent.
Napi::Value ImageHandle::ParentInfo(const Napi::CallbackInfo& info) {
  struct R {
    int64_t poolId = 0;
    std::string pool, ns, imageId, imageName, snapName;
    bool trash = false;
    uint64_t snapId = 0;
    int snapNs = 0;
  };
  auto res = std::make_shared<R>();
  rbd_image_t img = image;
  return Run(info, "rbd_get_parent", &h, [=]() -> int64_t {
    rbd_linked_image_spec_t spec;
    rbd_snap_spec_t snap;
    int r = rbd_get_parent(img, &spec, &snap);
    if (r < 0) return r;
    res->poolId = spec.pool_id;
    res->pool = spec.pool_name;
    res->ns = spec.pool_namespace;
    res->imageId = spec.image_id;
    res->imageName = spec.image_name;
    res->trash = spec.trash;
    res->snapId = snap.id;
    res->snapName = snap.name;
    res->snapNs = snap.namespace_type;
    rbd_linked_image_spec_cleanup(&spec);
    rbd_snap_spec_cleanup(&snap);
    return 0;
  }, [res](Napi::Env env) -> Napi::Value {
    Napi::Object o = Napi::Object::New(env);
    o.Set("poolId", Napi::Number::New(env, static_cast<double>(res->poolId)));
    o.Set("pool", res->pool);
    o.Set("namespace", res->ns);
    o.Set("imageId", res->imageId);
    o.Set("image", res->imageName);
    o.Set("trash", res->trash);
    o.Set("snapId", U64(env, res->snapId));
    o.Set("snap", res->snapName);
    o.Set("snapNamespaceType", res->snapNs);
    return o;
  });
}

// rbd_list_children3: [{poolId, pool, namespace, imageId, image, trash}]
Napi::Value ImageHandle::ListChildren(const Napi::CallbackInfo& info) {
  struct C {
    int64_t poolId;
    std::string pool, ns, id, name;
    bool trash;
  };
  auto out = std::make_shared<std::vector<C>>();
  rbd_image_t img = image;
  return Run(info, "rbd_list_children3", &h, [=]() -> int64_t {
    size_t n = 16;
    std::vector<rbd_linked_image_spec_t> specs;
    int r;
    do {
      specs.resize(n);
      r = rbd_list_children3(img, specs.data(), &n);
    } while (r == -ERANGE);
    if (r < 0) return r;
    for (size_t i = 0; i < n; i++)
      out->push_back({specs[i].pool_id, specs[i].pool_name, specs[i].pool_namespace, specs[i].image_id, specs[i].image_name,
                      specs[i].trash});
    rbd_linked_image_spec_list_cleanup(specs.data(), n);
    return 0;
  }, [out](Napi::Env env) -> Napi::Value {
    Napi::Array arr = Napi::Array::New(env, out->size());
    for (size_t i = 0; i < out->size(); i++) {
      auto& c = (*out)[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("poolId", Napi::Number::New(env, static_cast<double>(c.poolId)));
      o.Set("pool", c.pool);
      o.Set("namespace", c.ns);
      o.Set("imageId", c.id);
      o.Set("image", c.name);
      o.Set("trash", c.trash);
      arr.Set(i, o);
    }
    return arr;
  });
}

// rbd_snap_list: [{id, size, name}]
Napi::Value ImageHandle::SnapList(const Napi::CallbackInfo& info) {
  struct S {
    uint64_t id, size;
    std::string name;
  };
  auto out = std::make_shared<std::vector<S>>();
  rbd_image_t img = image;
  return Run(info, "rbd_snap_list", &h, [=]() -> int64_t {
    int max = 16, r;
    std::vector<rbd_snap_info_t> snaps;
    do {
      snaps.resize(max);
      r = rbd_snap_list(img, snaps.data(), &max);
    } while (r == -ERANGE);
    if (r < 0) return r;
    for (int i = 0; i < r; i++) out->push_back({snaps[i].id, snaps[i].size, snaps[i].name});
    rbd_snap_list_end(snaps.data());
    return 0;
  }, [out](Napi::Env env) -> Napi::Value {
    Napi::Array arr = Napi::Array::New(env, out->size());
    for (size_t i = 0; i < out->size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("id", U64(env, (*out)[i].id));
      o.Set("size", U64(env, (*out)[i].size));
      o.Set("name", (*out)[i].name);
      arr.Set(i, o);
    }
    return arr;
  });
}

// rbd_snap_create2(name, flags)
Napi::Value ImageHandle::SnapCreate(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "snapshot");
  uint64_t flags = ArgIsNullish(info, 1) ? 0 : ArgU64(info, 1, "flags");
  rbd_image_t img = image;
  return Run(info, "rbd_snap_create2", &h, [=]() -> int64_t {
    librbd_progress_fn_t none = [](uint64_t, uint64_t, void*) { return 0; };
    return rbd_snap_create2(img, name.c_str(), static_cast<uint32_t>(flags), none, nullptr);
  });
}

// rbd_snap_remove2(name, flags, progress, cancel)
Napi::Value ImageHandle::SnapRemove(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "snapshot");
  uint64_t flags = ArgIsNullish(info, 1) ? 0 : ArgU64(info, 1, "flags");
  auto p = Progress::FromArgs(info, 2);
  rbd_image_t img = image;
  return Run(info, "rbd_snap_remove2", &h, [=]() -> int64_t {
    return rbd_snap_remove2(img, name.c_str(), static_cast<uint32_t>(flags), Progress::Callback, p.get());
  });
}

#define SNAP_CALL(Method, cfn)                                                                   \
  Napi::Value ImageHandle::Method(const Napi::CallbackInfo& info) {                              \
    std::string name = ArgString(info, 0, "snapshot");                                           \
    rbd_image_t img = image;                                                                     \
    return Run(info, #cfn, &h, [=]() -> int64_t { return cfn(img, name.c_str()); });             \
  }
// rbd_snap_protect, rbd_snap_unprotect
SNAP_CALL(SnapProtect, rbd_snap_protect)
SNAP_CALL(SnapUnprotect, rbd_snap_unprotect)
#undef SNAP_CALL

// rbd_snap_is_protected
Napi::Value ImageHandle::SnapIsProtected(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "snapshot");
  auto res = std::make_shared<int>(0);
  rbd_image_t img = image;
  return Run(info, "rbd_snap_is_protected", &h, [=]() -> int64_t { return rbd_snap_is_protected(img, name.c_str(), res.get()); },
             [res](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, *res != 0); });
}

// rbd_snap_exists
Napi::Value ImageHandle::SnapExists(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "snapshot");
  auto res = std::make_shared<bool>(false);
  rbd_image_t img = image;
  return Run(info, "rbd_snap_exists", &h, [=]() -> int64_t { return rbd_snap_exists(img, name.c_str(), res.get()); },
             [res](Napi::Env env) -> Napi::Value { return Napi::Boolean::New(env, *res); });
}

// rbd_snap_rollback_with_progress(name, progress, cancel)
Napi::Value ImageHandle::SnapRollback(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "snapshot");
  auto p = Progress::FromArgs(info, 1);
  rbd_image_t img = image;
  return Run(info, "rbd_snap_rollback_with_progress", &h,
             [=]() -> int64_t { return rbd_snap_rollback_with_progress(img, name.c_str(), Progress::Callback, p.get()); });
}

// rbd_snap_get_limit
Napi::Value ImageHandle::SnapGetLimit(const Napi::CallbackInfo& info) {
  auto limit = std::make_shared<uint64_t>(0);
  rbd_image_t img = image;
  return Run(info, "rbd_snap_get_limit", &h, [=]() -> int64_t { return rbd_snap_get_limit(img, limit.get()); },
             [limit](Napi::Env env) -> Napi::Value { return U64(env, *limit); });
}

// rbd_snap_set_limit
Napi::Value ImageHandle::SnapSetLimit(const Napi::CallbackInfo& info) {
  uint64_t limit = ArgU64(info, 0, "limit");
  rbd_image_t img = image;
  return Run(info, "rbd_snap_set_limit", &h, [=]() -> int64_t { return rbd_snap_set_limit(img, limit); });
}

// rbd_get_features
Napi::Value ImageHandle::Features(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rbd_get_features");
  uint64_t f = 0;
  int r = rbd_get_features(image, &f);
  if (r < 0) throw ErrnoError(info.Env(), -r, "rbd_get_features");
  return Napi::BigInt::New(info.Env(), f);
}

// rbd_update_features(mask, enabled)
Napi::Value ImageHandle::UpdateFeatures(const Napi::CallbackInfo& info) {
  uint64_t mask = ArgU64(info, 0, "features");
  bool enabled = ArgBool(info, 1, "enabled");
  rbd_image_t img = image;
  return Run(info, "rbd_update_features", &h, [=]() -> int64_t { return rbd_update_features(img, mask, enabled ? 1 : 0); });
}

// rbd_watchers_list: [{addr, id, cookie}]
Napi::Value ImageHandle::Watchers(const Napi::CallbackInfo& info) {
  struct W {
    std::string addr;
    int64_t id;
    uint64_t cookie;
  };
  auto out = std::make_shared<std::vector<W>>();
  rbd_image_t img = image;
  return Run(info, "rbd_watchers_list", &h, [=]() -> int64_t {
    size_t n = 8;
    std::vector<rbd_image_watcher_t> ws;
    int r;
    do {
      ws.resize(n);
      r = rbd_watchers_list(img, ws.data(), &n);
    } while (r == -ERANGE);
    if (r < 0) return r;
    for (size_t i = 0; i < n; i++) out->push_back({ws[i].addr, ws[i].id, ws[i].cookie});
    rbd_watchers_list_cleanup(ws.data(), n);
    return 0;
  }, [out](Napi::Env env) -> Napi::Value {
    Napi::Array arr = Napi::Array::New(env, out->size());
    for (size_t i = 0; i < out->size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("addr", (*out)[i].addr);
      o.Set("id", Napi::Number::New(env, static_cast<double>((*out)[i].id)));
      o.Set("cookie", U64(env, (*out)[i].cookie));
      arr.Set(i, o);
    }
    return arr;
  });
}

// rbd_metadata_get(key): ENOENT when absent
Napi::Value ImageHandle::MetadataGet(const Napi::CallbackInfo& info) {
  std::string key = ArgString(info, 0, "key");
  auto value = std::make_shared<std::string>();
  rbd_image_t img = image;
  return Run(info, "rbd_metadata_get", &h, [=]() -> int64_t {
    size_t len = 256;
    std::vector<char> buf;
    int r;
    do {
      buf.resize(len);
      r = rbd_metadata_get(img, key.c_str(), buf.data(), &len);
    } while (r == -ERANGE);
    if (r < 0) return r;
    value->assign(buf.data(), strnlen(buf.data(), len));
    return 0;
  }, [value](Napi::Env env) -> Napi::Value { return Napi::String::New(env, *value); });
}

// rbd_metadata_set(key, value)
Napi::Value ImageHandle::MetadataSet(const Napi::CallbackInfo& info) {
  std::string key = ArgString(info, 0, "key"), value = ArgString(info, 1, "value");
  rbd_image_t img = image;
  return Run(info, "rbd_metadata_set", &h, [=]() -> int64_t { return rbd_metadata_set(img, key.c_str(), value.c_str()); });
}

// rbd_metadata_remove(key): ENOENT when absent
Napi::Value ImageHandle::MetadataRemove(const Napi::CallbackInfo& info) {
  std::string key = ArgString(info, 0, "key");
  rbd_image_t img = image;
  return Run(info, "rbd_metadata_remove", &h, [=]() -> int64_t { return rbd_metadata_remove(img, key.c_str()); });
}

// rbd_copy_with_progress3(destIoCtx, destName, {features, order, dataPool...}, progress, cancel)
Napi::Value ImageHandle::Copy(const Napi::CallbackInfo& info) {
  IoCtxHandle* dest = UnwrapIoCtx(info, 0);
  std::string name = ArgString(info, 1, "destination name");
  CheckOpen(info.Env(), *HandleOf(dest), "rbd_copy_with_progress3");
  uint64_t order = 0;
  if (info[2].IsObject()) {
    Napi::Value o = info[2].As<Napi::Object>().Get("order");
    if (o.IsNumber()) order = static_cast<uint64_t>(o.As<Napi::Number>().Int64Value());
  }
  auto p = Progress::FromArgs(info, 3);
  rbd_image_t img = image;
  rados_ioctx_t io = IoCtxOf(dest);
  Handle* dh = HandleOf(dest);
  CheckOpen(info.Env(), h, "rbd_copy_with_progress3");
  auto* job = new Job(info.Env(), "rbd_copy_with_progress3", &h, [=]() -> int64_t {
    rbd_image_options_t o;
    rbd_image_options_create(&o);
    if (order) rbd_image_options_set_uint64(o, RBD_IMAGE_OPTION_ORDER, order);
    int r = rbd_copy_with_progress3(img, io, name.c_str(), o, Progress::Callback, p.get());
    rbd_image_options_destroy(o);
    return r;
  });
  dh->inflight++;
  job->OnSettled([dh]() { dh->inflight--; });
  job->Keep(info.This());
  job->Keep(info[0]);
  return job->Start();
}

void InitImage(Napi::Env env, Napi::Object exports) { ImageHandle::Init(env, exports); }

}  // namespace cn
