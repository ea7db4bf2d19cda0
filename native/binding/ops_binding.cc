// Stub: to be written.
#include "util.h"
namespace cnn::binding {
void InitOps(Napi::Env env, Napi::Object exports) { (void)env; (void)exports; }
}  // namespace cnn::binding
