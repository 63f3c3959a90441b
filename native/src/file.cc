// Local-file calls the image pipeline needs and Node does not offer: lseek(2) SEEK_DATA/SEEK_HOLE,
// so that a sparse source's holes are never read. Not librados/librbd, but the same rules: one C
// call, on a worker thread (it can wait on filesystem metadata), errors as errno.
#include <unistd.h>

#include "common.h"

namespace cn {

namespace {

// lseek(fd, SEEK_DATA) and lseek(fd, SEEK_HOLE) from `offset` up to `end`: resolves a Float64Array of
// [offset, length] pairs, the data extents. EINVAL/ENOTSUP means the filesystem cannot tell (the
// caller then reads everything). At most `maxExtents` pairs: the caller continues from the last end.
Napi::Value FileDataExtents(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(ArgU64(info, 0, "fd"));
  uint64_t offset = ArgU64(info, 1, "offset"), end = ArgU64(info, 2, "end");
  uint64_t maxExtents = ArgU64(info, 3, "maxExtents");
  auto out = std::make_shared<std::vector<double>>();
  return Run(info, "lseek", nullptr, [=]() -> int64_t {
    off_t at = static_cast<off_t>(offset);
    while (static_cast<uint64_t>(at) < end && out->size() / 2 < maxExtents) {
      off_t data = lseek(fd, at, SEEK_DATA);
      if (data < 0) return errno == ENXIO ? 0 : -errno;  // ENXIO: no data after `at`
      if (static_cast<uint64_t>(data) >= end) break;
      off_t hole = lseek(fd, data, SEEK_HOLE);
      if (hole < 0) return -errno;
      uint64_t stop = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
      out->push_back(static_cast<double>(data));
      out->push_back(static_cast<double>(stop - static_cast<uint64_t>(data)));
      at = static_cast<off_t>(stop);
    }
    return 0;
  }, [out](Napi::Env env) -> Napi::Value { return Float64ArrayFrom(env, *out); });
}

}  // namespace

void InitFile(Napi::Env env, Napi::Object exports) {
  exports.Set("fileDataExtents", Napi::Function::New(env, FileDataExtents, "fileDataExtents"));
}

}  // namespace cn
