// The open-image handle (rbd_image_t). Methods live in image.cc (metadata, snapshots, layering)
// and image_io.cc (data path).
#pragma once
#include "common.h"

namespace cn {

class ImageHandle : public Napi::ObjectWrap<ImageHandle> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports);
  explicit ImageHandle(const Napi::CallbackInfo& info);
  ~ImageHandle() override;
  rbd_image_t image = nullptr;
  Handle h;

 private:
  Napi::ObjectReference parent_;
  // image.cc
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value State(const Napi::CallbackInfo& info);
  Napi::Value Stat(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Id(const Napi::CallbackInfo& info);
  Napi::Value Resize(const Napi::CallbackInfo& info);
  Napi::Value Flatten(const Napi::CallbackInfo& info);
  Napi::Value ParentInfo(const Napi::CallbackInfo& info);
  Napi::Value ListChildren(const Napi::CallbackInfo& info);
  Napi::Value SnapList(const Napi::CallbackInfo& info);
  Napi::Value SnapCreate(const Napi::CallbackInfo& info);
  Napi::Value SnapRemove(const Napi::CallbackInfo& info);
  Napi::Value SnapProtect(const Napi::CallbackInfo& info);
  Napi::Value SnapUnprotect(const Napi::CallbackInfo& info);
  Napi::Value SnapIsProtected(const Napi::CallbackInfo& info);
  Napi::Value SnapExists(const Napi::CallbackInfo& info);
  Napi::Value SnapRollback(const Napi::CallbackInfo& info);
  Napi::Value SnapGetLimit(const Napi::CallbackInfo& info);
  Napi::Value SnapSetLimit(const Napi::CallbackInfo& info);
  Napi::Value Features(const Napi::CallbackInfo& info);
  Napi::Value UpdateFeatures(const Napi::CallbackInfo& info);
  Napi::Value Watchers(const Napi::CallbackInfo& info);
  Napi::Value MetadataGet(const Napi::CallbackInfo& info);
  Napi::Value MetadataSet(const Napi::CallbackInfo& info);
  Napi::Value MetadataRemove(const Napi::CallbackInfo& info);
  Napi::Value Copy(const Napi::CallbackInfo& info);
  // image_io.cc
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Discard(const Napi::CallbackInfo& info);
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value AioRead(const Napi::CallbackInfo& info);
  Napi::Value AioWrite(const Napi::CallbackInfo& info);
  Napi::Value DiffIterate(const Napi::CallbackInfo& info);
  friend void InitImageIo(Napi::Env env, Napi::Object exports);
};

}  // namespace cn
