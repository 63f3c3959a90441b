// librados: the cluster handle (rados_t) and the I/O context (rados_ioctx_t).
// Each method names the C call it wraps.
#include "common.h"

namespace cn {

class RadosHandle : public Napi::ObjectWrap<RadosHandle> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports);
  explicit RadosHandle(const Napi::CallbackInfo& info);
  ~RadosHandle() override;
  rados_t cluster = nullptr;
  Handle h;

 private:
  Napi::Value ConfReadFile(const Napi::CallbackInfo& info);
  Napi::Value ConfSet(const Napi::CallbackInfo& info);
  Napi::Value ConfGet(const Napi::CallbackInfo& info);
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value Fsid(const Napi::CallbackInfo& info);
  Napi::Value Addrs(const Napi::CallbackInfo& info);
  Napi::Value ClusterStat(const Napi::CallbackInfo& info);
  Napi::Value PoolLookup(const Napi::CallbackInfo& info);
  Napi::Value MonCommand(const Napi::CallbackInfo& info);
  Napi::Value IoCtxCreate(const Napi::CallbackInfo& info);
  Napi::Value State(const Napi::CallbackInfo& info);
};

class IoCtxHandle : public Napi::ObjectWrap<IoCtxHandle> {
 public:
  static Napi::FunctionReference ctor;
  static void Init(Napi::Env env, Napi::Object exports);
  explicit IoCtxHandle(const Napi::CallbackInfo& info);
  ~IoCtxHandle() override;
  rados_ioctx_t io = nullptr;
  Handle h;

 private:
  void Destroy();
  Napi::ObjectReference parent_;
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetNamespace(const Napi::CallbackInfo& info);
  Napi::Value PoolId(const Napi::CallbackInfo& info);
  Napi::Value PoolStat(const Napi::CallbackInfo& info);
  Napi::Value Stat(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value WriteFull(const Napi::CallbackInfo& info);
  Napi::Value Remove(const Napi::CallbackInfo& info);
  Napi::Value Exec(const Napi::CallbackInfo& info);
  Napi::Value OmapGetVals(const Napi::CallbackInfo& info);
  Napi::Value State(const Napi::CallbackInfo& info);
};

Napi::FunctionReference RadosHandle::ctor;
Napi::FunctionReference IoCtxHandle::ctor;

static Napi::Object HandleState(Napi::Env env, const Handle& h) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("closed", h.closed);
  o.Set("inflight", h.inflight);
  o.Set("children", h.children);
  return o;
}

// ---------------- RadosHandle ----------------

void RadosHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "Rados",
                                 {InstanceMethod<&RadosHandle::ConfReadFile>("confReadFile"),
                                  InstanceMethod<&RadosHandle::ConfSet>("confSet"),
                                  InstanceMethod<&RadosHandle::ConfGet>("confGet"),
                                  InstanceMethod<&RadosHandle::Connect>("connect"),
                                  InstanceMethod<&RadosHandle::Shutdown>("shutdown"),
                                  InstanceMethod<&RadosHandle::Fsid>("fsid"),
                                  InstanceMethod<&RadosHandle::Addrs>("addrs"),
                                  InstanceMethod<&RadosHandle::ClusterStat>("clusterStat"),
                                  InstanceMethod<&RadosHandle::PoolLookup>("poolLookup"),
                                  InstanceMethod<&RadosHandle::MonCommand>("monCommand"),
                                  InstanceMethod<&RadosHandle::IoCtxCreate>("ioctxCreate"),
                                  InstanceMethod<&RadosHandle::State>("state")});
  ctor = Napi::Persistent(f);
  exports.Set("Rados", f);
}

// new Rados(clusterName, entityName): rados_create2
RadosHandle::RadosHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RadosHandle>(info) {
  std::string cluster = ArgString(info, 0, "cluster name");
  std::string name = ArgString(info, 1, "entity name");
  int r = rados_create2(&this->cluster, cluster.c_str(), name.c_str(), 0);
  if (r < 0) throw ErrnoError(info.Env(), -r, "rados_create2");
}

// Last resort when a connection is garbage-collected without close(): children hold strong
// references to this object, so none is still open here.
RadosHandle::~RadosHandle() {
  if (!h.closed && cluster != nullptr) rados_shutdown(cluster);
}

Napi::Value RadosHandle::State(const Napi::CallbackInfo& info) { return HandleState(info.Env(), h); }

// rados_conf_read_file
Napi::Value RadosHandle::ConfReadFile(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_conf_read_file");
  std::string path = ArgString(info, 0, "path");
  int r = rados_conf_read_file(cluster, path.c_str());
  if (r < 0) throw ErrnoError(info.Env(), -r, "rados_conf_read_file", path);
  return info.Env().Undefined();
}

// rados_conf_set
Napi::Value RadosHandle::ConfSet(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_conf_set");
  std::string key = ArgString(info, 0, "option"), value = ArgString(info, 1, "value");
  int r = rados_conf_set(cluster, key.c_str(), value.c_str());
  if (r < 0) throw ErrnoError(info.Env(), -r, "rados_conf_set", key);
  return info.Env().Undefined();
}

// rados_conf_get
Napi::Value RadosHandle::ConfGet(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_conf_get");
  std::string key = ArgString(info, 0, "option");
  std::vector<char> buf(4096);
  int r;
  while ((r = rados_conf_get(cluster, key.c_str(), buf.data(), buf.size())) == -ENAMETOOLONG && buf.size() < (1 << 20))
    buf.resize(buf.size() * 4);
  if (r < 0) throw ErrnoError(info.Env(), -r, "rados_conf_get", key);
  return Napi::String::New(info.Env(), buf.data());
}

// rados_connect
Napi::Value RadosHandle::Connect(const Napi::CallbackInfo& info) {
  rados_t c = cluster;
  return Run(info, "rados_connect", &h, [c]() -> int64_t { return rados_connect(c); });
}

// rados_shutdown: refused while work is in flight or I/O contexts are open.
Napi::Value RadosHandle::Shutdown(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_shutdown");
  if (h.inflight > 0 || h.children > 0) throw ErrnoError(info.Env(), EBUSY, "rados_shutdown", "handles or operations still open");
  h.closed = true;
  rados_t c = cluster;
  return Run(info, "rados_shutdown", nullptr, [c]() -> int64_t {
    rados_shutdown(c);
    return 0;
  });
}

// rados_cluster_fsid
Napi::Value RadosHandle::Fsid(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_cluster_fsid");
  char buf[64] = {0};
  int r = rados_cluster_fsid(cluster, buf, sizeof(buf));
  if (r < 0) throw ErrnoError(info.Env(), -r, "rados_cluster_fsid");
  return Napi::String::New(info.Env(), buf);
}

// rados_getaddrs: this client's own address(es)
Napi::Value RadosHandle::Addrs(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_getaddrs");
  char* addrs = nullptr;
  int r = rados_getaddrs(cluster, &addrs);
  if (r < 0) throw ErrnoError(info.Env(), -r, "rados_getaddrs");
  Napi::String s = Napi::String::New(info.Env(), addrs ? addrs : "");
  if (addrs) rados_buffer_free(addrs);
  return s;
}

// rados_cluster_stat
Napi::Value RadosHandle::ClusterStat(const Napi::CallbackInfo& info) {
  auto st = std::make_shared<rados_cluster_stat_t>();
  rados_t c = cluster;
  return Run(info, "rados_cluster_stat", &h, [c, st]() -> int64_t { return rados_cluster_stat(c, st.get()); },
             [st](Napi::Env env) -> Napi::Value {
               Napi::Object o = Napi::Object::New(env);
               o.Set("kb", U64(env, st->kb));
               o.Set("kbUsed", U64(env, st->kb_used));
               o.Set("kbAvail", U64(env, st->kb_avail));
               o.Set("numObjects", U64(env, st->num_objects));
               return o;
             });
}

// rados_pool_lookup
Napi::Value RadosHandle::PoolLookup(const Napi::CallbackInfo& info) {
  std::string pool = ArgString(info, 0, "pool");
  auto id = std::make_shared<int64_t>(0);
  rados_t c = cluster;
  return Run(info, "rados_pool_lookup", &h, [c, pool, id]() -> int64_t {
    *id = rados_pool_lookup(c, pool.c_str());
    return *id < 0 ? *id : 0;
  }, [id](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*id)); });
}

// rados_mon_command: one JSON command in; {out: Buffer, status: string} out. On failure the
// monitor's status string becomes the error's detail.
Napi::Value RadosHandle::MonCommand(const Napi::CallbackInfo& info) {
  std::string cmd = ArgString(info, 0, "command");
  std::string inbuf = ArgIsNullish(info, 1) ? std::string() : ArgString(info, 1, "input");
  struct Result {
    std::string out, outs;
    int rc = 0;
  };
  auto res = std::make_shared<Result>();
  rados_t c = cluster;
  Napi::Env env = info.Env();
  CheckOpen(env, h, "rados_mon_command");
  auto* job = new Job(env, "rados_mon_command", &h, [c, cmd, inbuf, res]() -> int64_t {
    const char* cmds[1] = {cmd.c_str()};
    char *out = nullptr, *outs = nullptr;
    size_t outlen = 0, outslen = 0;
    int r = rados_mon_command(c, cmds, 1, inbuf.data(), inbuf.size(), &out, &outlen, &outs, &outslen);
    if (out) res->out.assign(out, outlen), rados_buffer_free(out);
    if (outs) res->outs.assign(outs, outslen), rados_buffer_free(outs);
    res->rc = r;
    return 0;  // settled below so the status string reaches the error
  }, [res](Napi::Env env) -> Napi::Value {
    if (res->rc < 0) throw ErrnoError(env, -res->rc, "rados_mon_command", res->outs);
    Napi::Object o = Napi::Object::New(env);
    o.Set("out", Napi::Buffer<char>::Copy(env, res->out.data(), res->out.size()));
    o.Set("status", Napi::String::New(env, res->outs));
    return o;
  });
  job->Keep(info.This());
  return job->Start();
}

// rados_ioctx_create
Napi::Value RadosHandle::IoCtxCreate(const Napi::CallbackInfo& info) {
  std::string pool = ArgString(info, 0, "pool");
  auto io = std::make_shared<rados_ioctx_t>(nullptr);
  rados_t c = cluster;
  Napi::Object self = info.This().As<Napi::Object>();
  auto selfRef = std::make_shared<Napi::ObjectReference>(Napi::Persistent(self));
  return Run(info, "rados_ioctx_create", &h, [c, pool, io]() -> int64_t { return rados_ioctx_create(c, pool.c_str(), io.get()); },
             [io, selfRef](Napi::Env env) -> Napi::Value {
               Napi::Object obj = IoCtxHandle::ctor.New({Napi::External<void>::New(env, *io), selfRef->Value()});
               selfRef->Reset();
               return obj;
             });
}

// ---------------- IoCtxHandle ----------------

void IoCtxHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "IoCtx",
                                 {InstanceMethod<&IoCtxHandle::Close>("close"),
                                  InstanceMethod<&IoCtxHandle::SetNamespace>("setNamespace"),
                                  InstanceMethod<&IoCtxHandle::PoolId>("poolId"),
                                  InstanceMethod<&IoCtxHandle::PoolStat>("poolStat"),
                                  InstanceMethod<&IoCtxHandle::Stat>("stat"),
                                  InstanceMethod<&IoCtxHandle::Read>("read"),
                                  InstanceMethod<&IoCtxHandle::Write>("write"),
                                  InstanceMethod<&IoCtxHandle::WriteFull>("writeFull"),
                                  InstanceMethod<&IoCtxHandle::Remove>("remove"),
                                  InstanceMethod<&IoCtxHandle::Exec>("exec"),
                                  InstanceMethod<&IoCtxHandle::OmapGetVals>("omapGetVals"),
                                  InstanceMethod<&IoCtxHandle::State>("state")});
  ctor = Napi::Persistent(f);
  exports.Set("IoCtx", f);
}

// Made only by Rados.ioctxCreate: (External<rados_ioctx_t>, parent Rados).
IoCtxHandle::IoCtxHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<IoCtxHandle>(info) {
  if (info.Length() < 2 || !info[0].IsExternal() || !info[1].IsObject())
    throw Napi::TypeError::New(info.Env(), "IoCtx is created by Rados.ioctxCreate()");
  io = info[0].As<Napi::External<void>>().Data();
  Napi::Object parent = info[1].As<Napi::Object>();
  parent_ = Napi::Persistent(parent);
  h.parent = &RadosHandle::Unwrap(parent)->h;
  h.parent->children++;
}

void IoCtxHandle::Destroy() {
  if (h.closed) return;
  h.closed = true;
  rados_ioctx_destroy(io);
  if (h.parent) h.parent->children--;
}

IoCtxHandle::~IoCtxHandle() { Destroy(); }

Napi::Value IoCtxHandle::State(const Napi::CallbackInfo& info) { return HandleState(info.Env(), h); }

// rados_ioctx_destroy (does not block: it drops references)
Napi::Value IoCtxHandle::Close(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_ioctx_destroy");
  if (h.inflight > 0 || h.children > 0) throw ErrnoError(info.Env(), EBUSY, "rados_ioctx_destroy", "images or operations still open");
  Destroy();
  return info.Env().Undefined();
}

// rados_ioctx_set_namespace
Napi::Value IoCtxHandle::SetNamespace(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_ioctx_set_namespace");
  std::string ns = ArgString(info, 0, "namespace");
  rados_ioctx_set_namespace(io, ns.c_str());
  return info.Env().Undefined();
}

// rados_ioctx_get_id
Napi::Value IoCtxHandle::PoolId(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env(), h, "rados_ioctx_get_id");
  return Napi::Number::New(info.Env(), static_cast<double>(rados_ioctx_get_id(io)));
}

// rados_ioctx_pool_stat
Napi::Value IoCtxHandle::PoolStat(const Napi::CallbackInfo& info) {
  auto st = std::make_shared<rados_pool_stat_t>();
  rados_ioctx_t i = io;
  return Run(info, "rados_ioctx_pool_stat", &h, [i, st]() -> int64_t { return rados_ioctx_pool_stat(i, st.get()); },
             [st](Napi::Env env) -> Napi::Value {
               Napi::Object o = Napi::Object::New(env);
               o.Set("numBytes", U64(env, st->num_bytes));
               o.Set("numObjects", U64(env, st->num_objects));
               o.Set("numObjectClones", U64(env, st->num_object_clones));
               o.Set("numObjectCopies", U64(env, st->num_object_copies));
               o.Set("numObjectsDegraded", U64(env, st->num_objects_degraded));
               o.Set("numRd", U64(env, st->num_rd));
               o.Set("numWr", U64(env, st->num_wr));
               return o;
             });
}

// rados_stat
Napi::Value IoCtxHandle::Stat(const Napi::CallbackInfo& info) {
  std::string oid = ArgString(info, 0, "object");
  struct R {
    uint64_t size = 0;
    time_t mtime = 0;
  };
  auto res = std::make_shared<R>();
  rados_ioctx_t i = io;
  return Run(info, "rados_stat", &h, [i, oid, res]() -> int64_t { return rados_stat(i, oid.c_str(), &res->size, &res->mtime); },
             [res](Napi::Env env) -> Napi::Value {
               Napi::Object o = Napi::Object::New(env);
               o.Set("size", U64(env, res->size));
               o.Set("mtime", Napi::Number::New(env, static_cast<double>(res->mtime)));
               return o;
             });
}

// rados_read into the caller's Buffer (no copy); resolves with the bytes read.
Napi::Value IoCtxHandle::Read(const Napi::CallbackInfo& info) {
  std::string oid = ArgString(info, 0, "object");
  Napi::Buffer<char> buf = ArgBuffer(info, 1, "buffer");
  uint64_t off = ArgU64(info, 2, "offset");
  char* data = buf.Data();
  size_t len = buf.Length();
  auto n = std::make_shared<int64_t>(0);
  rados_ioctx_t i = io;
  return Run(info, "rados_read", &h, [=]() -> int64_t { return *n = rados_read(i, oid.c_str(), data, len, off); },
             [n](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(*n)); }, {buf});
}

// rados_write from the caller's Buffer (no copy)
Napi::Value IoCtxHandle::Write(const Napi::CallbackInfo& info) {
  std::string oid = ArgString(info, 0, "object");
  Napi::Buffer<char> buf = ArgBuffer(info, 1, "buffer");
  uint64_t off = ArgU64(info, 2, "offset");
  const char* data = buf.Data();
  size_t len = buf.Length();
  rados_ioctx_t i = io;
  return Run(info, "rados_write", &h, [=]() -> int64_t { return rados_write(i, oid.c_str(), data, len, off); }, nullptr, {buf});
}

// rados_write_full; with failIfFull, a write op with LIBRADOS_OPERATION_FULL_TRY
// (rados_write_op_write_full + rados_write_op_operate2), which fails with EDQUOT/ENOSPC on a full
// pool or cluster instead of waiting for space.
Napi::Value IoCtxHandle::WriteFull(const Napi::CallbackInfo& info) {
  std::string oid = ArgString(info, 0, "object");
  Napi::Buffer<char> buf = ArgBuffer(info, 1, "buffer");
  bool fullTry = ArgBool(info, 2, "failIfFull");
  const char* data = buf.Data();
  size_t len = buf.Length();
  rados_ioctx_t i = io;
  if (!fullTry)
    return Run(info, "rados_write_full", &h, [=]() -> int64_t { return rados_write_full(i, oid.c_str(), data, len); }, nullptr, {buf});
  return Run(info, "rados_write_op_operate2", &h, [=]() -> int64_t {
    rados_write_op_t op = rados_create_write_op();
    rados_write_op_write_full(op, data, len);
    int r = rados_write_op_operate2(op, i, oid.c_str(), nullptr, LIBRADOS_OPERATION_FULL_TRY);
    rados_release_write_op(op);
    return r;
  }, nullptr, {buf});
}

// rados_remove
Napi::Value IoCtxHandle::Remove(const Napi::CallbackInfo& info) {
  std::string oid = ArgString(info, 0, "object");
  rados_ioctx_t i = io;
  return Run(info, "rados_remove", &h, [=]() -> int64_t { return rados_remove(i, oid.c_str()); });
}

// rados_exec(object, class, method, input): calls an object class method; resolves its output
Napi::Value IoCtxHandle::Exec(const Napi::CallbackInfo& info) {
  std::string oid = ArgString(info, 0, "object"), cls = ArgString(info, 1, "class"), method = ArgString(info, 2, "method");
  Napi::Buffer<char> in = ArgBuffer(info, 3, "input");
  const char* inData = in.Data();
  size_t inLen = in.Length();
  auto out = std::make_shared<std::vector<char>>(64 * 1024);
  auto n = std::make_shared<int64_t>(0);
  rados_ioctx_t i = io;
  return Run(info, "rados_exec", &h, [=]() -> int64_t {
    return *n = rados_exec(i, oid.c_str(), cls.c_str(), method.c_str(), inData, inLen, out->data(), out->size());
  }, [out, n](Napi::Env env) -> Napi::Value { return Napi::Buffer<char>::Copy(env, out->data(), static_cast<size_t>(*n)); }, {in});
}

// rados_read_op_omap_get_vals2 + rados_read_op_operate: up to `max` pairs after `startAfter`
// whose keys start with `prefix`; resolves {entries: [key, Buffer][], more: boolean}.
Napi::Value IoCtxHandle::OmapGetVals(const Napi::CallbackInfo& info) {
  std::string oid = ArgString(info, 0, "object");
  std::string after = ArgIsNullish(info, 1) ? "" : ArgString(info, 1, "startAfter");
  std::string prefix = ArgIsNullish(info, 2) ? "" : ArgString(info, 2, "prefix");
  uint64_t max = ArgU64(info, 3, "max");
  struct R {
    std::vector<std::pair<std::string, std::string>> kv;
    unsigned char more = 0;
  };
  auto res = std::make_shared<R>();
  rados_ioctx_t i = io;
  return Run(info, "rados_read_op_omap_get_vals2", &h, [=]() -> int64_t {
    rados_read_op_t op = rados_create_read_op();
    rados_omap_iter_t iter = nullptr;
    int prval = 0;
    rados_read_op_omap_get_vals2(op, after.empty() ? nullptr : after.c_str(), prefix.empty() ? nullptr : prefix.c_str(), max,
                                 &iter, &res->more, &prval);
    int r = rados_read_op_operate(op, i, oid.c_str(), 0);
    if (r >= 0 && prval < 0) r = prval;
    if (r >= 0) {
      char *k, *v;
      size_t kl, vl;
      while (rados_omap_get_next2(iter, &k, &v, &kl, &vl) == 0 && k != nullptr) res->kv.emplace_back(std::string(k, kl), std::string(v, vl));
    }
    if (iter) rados_omap_get_end(iter);
    rados_release_read_op(op);
    return r;
  }, [res](Napi::Env env) -> Napi::Value {
    Napi::Array arr = Napi::Array::New(env, res->kv.size());
    for (size_t j = 0; j < res->kv.size(); j++) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, res->kv[j].first));
      pair.Set(1u, Napi::Buffer<char>::Copy(env, res->kv[j].second.data(), res->kv[j].second.size()));
      arr.Set(j, pair);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("entries", arr);
    o.Set("more", Napi::Boolean::New(env, res->more != 0));
    return o;
  });
}

IoCtxHandle* UnwrapIoCtx(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "expected an IoCtx");
  Napi::Object o = info[i].As<Napi::Object>();
  if (!o.InstanceOf(IoCtxHandle::ctor.Value())) throw Napi::TypeError::New(info.Env(), "expected an IoCtx");
  return IoCtxHandle::Unwrap(o);
}
rados_ioctx_t IoCtxOf(IoCtxHandle* h) { return h->io; }
Handle* HandleOf(IoCtxHandle* h) { return &h->h; }

void InitRados(Napi::Env env, Napi::Object exports) {
  RadosHandle::Init(env, exports);
  IoCtxHandle::Init(env, exports);
}

}  // namespace cn
