// Registers the exports of each binding file. Nothing else lives here.
#include <napi.h>

namespace cnn::binding {
void InitGemm(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitTrainOps(Napi::Env env, Napi::Object exports);
void InitNetwork(Napi::Env env, Napi::Object exports);
void InitTensorOps(Napi::Env env, Napi::Object exports);
}  // namespace cnn::binding

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  cnn::binding::InitGemm(env, exports);
  cnn::binding::InitOps(env, exports);
  cnn::binding::InitTrainOps(env, exports);
  cnn::binding::InitNetwork(env, exports);
  cnn::binding::InitTensorOps(env, exports);
  return exports;
}

NODE_API_MODULE(cnn, Init)
