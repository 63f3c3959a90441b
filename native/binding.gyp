{
  "targets": [
    {
      "target_name": "ceph_native",
      "sources": ["src/addon.cc", "src/rados.cc", "src/rbd.cc", "src/image.cc", "src/image_io.cc", "src/file.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "libraries": ["-lrbd", "-lrados"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
