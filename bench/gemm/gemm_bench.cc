// SGEMM benchmark: our packed kernel vs OpenBLAS (and the naive loop on small sizes), GFLOPS.
// Built and run by bench/gemm/run.sh against the kernel sources directly (no Node).
//
//   gemm_bench [--reps N] [--rounds R] [--passes P] [--threads 1,2] [--shape MxKxN[:TT]]...
//              [--json FILE] [--quick] [--no-openblas] [--kernel K | --kernels K,K...]
//              [--mc X --kc X --nc X] [--tune] [--clock wall|cpu]
//   K: auto | avx512 | avx2 | portable | naive (--kernels: all of them side by side; default: auto)
//
// Shapes are written M x K x N (C is M x N); the optional suffix gives the transposes (NN, NT, TN,
// TT for op(A), op(B)). Each (shape, threads) row times each of our kernels and OpenBLAS in
// alternating rounds and keeps the best of --reps calls each, so all see the same machine noise;
// --passes repeats the whole list and keeps each row's best. The CPU model and its SIMD flags
// (/proc/cpuinfo) are printed, and recorded in the JSON, with the figures.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../native/kernels/cpu_features.h"
#include "../../native/kernels/gemm/sgemm.h"
#include "../../native/kernels/gemm/ukernel.h"
#include "../../native/kernels/threadpool.h"

#ifdef HAVE_OPENBLAS
// Declared here rather than through <cblas.h>, whose Debian alternative may not be OpenBLAS's.
extern "C" {
void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A,
                 int lda, const float* B, int ldb, float beta, float* C, int ldc);
void openblas_set_num_threads(int n);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}
#endif

namespace {

struct Shape {
  int M, K, N;
  bool ta, tb;
  std::string label() const {
    return std::to_string(M) + "x" + std::to_string(K) + "x" + std::to_string(N) + " " + (ta ? "T" : "N") +
           (tb ? "T" : "N");
  }
};

struct Operands {
  Shape s;
  int lda, ldb, ldc;
  std::vector<float> A, B, C;
  explicit Operands(const Shape& sh) : s(sh) {
    lda = s.ta ? s.M : s.K;
    ldb = s.tb ? s.K : s.N;
    ldc = s.N;
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    A.resize((size_t)s.M * s.K);
    B.resize((size_t)s.K * s.N);
    C.assign((size_t)s.M * s.N, 0.f);
    for (float& x : A) x = u(rng);
    for (float& x : B) x = u(rng);
  }
  double gflop() const { return 2.0 * s.M * s.N * s.K * 1e-9; }
};

// Wall time, or with --clock cpu the calling thread's CPU time (only meaningful single-threaded:
// it leaves out the time other processes on a busy machine take from us).
bool g_cpu_clock = false;
int g_threads = 1;
double now() {
  if (g_cpu_clock && g_threads == 1) {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double time_ours(Operands& o) {
  const double t = now();
  cnn::sgemm(o.s.ta, o.s.tb, o.s.M, o.s.N, o.s.K, 1.f, o.A.data(), o.lda, o.B.data(), o.ldb, 0.f, o.C.data(),
             o.ldc);
  return now() - t;
}

double time_naive(Operands& o) {
  const double t = now();
  cnn::sgemm_naive(o.s.ta, o.s.tb, o.s.M, o.s.N, o.s.K, 1.f, o.A.data(), o.lda, o.B.data(), o.ldb, 0.f,
                   o.C.data(), o.ldc);
  return now() - t;
}

#ifdef HAVE_OPENBLAS
double time_openblas(Operands& o) {
  const double t = now();
  cblas_sgemm(101 /*RowMajor*/, o.s.ta ? 112 : 111, o.s.tb ? 112 : 111, o.s.M, o.s.N, o.s.K, 1.f, o.A.data(),
              o.lda, o.B.data(), o.ldb, 0.f, o.C.data(), o.ldc);
  return now() - t;
}
#endif

int g_rounds = 4;
bool g_use_blas = true;
std::vector<cnn::GemmKernel> g_kernels = {cnn::GemmKernel::Auto};  // ours, in the order timed

bool parse_kernel(const std::string& s, cnn::GemmKernel& k) {
  if (s == "auto") k = cnn::GemmKernel::Auto;
  else if (s == "avx512") k = cnn::GemmKernel::Avx512;
  else if (s == "avx2") k = cnn::GemmKernel::Avx2Fma;
  else if (s == "portable") k = cnn::GemmKernel::Portable;
  else if (s == "naive") k = cnn::GemmKernel::Naive;
  else return false;
  return true;
}

// "model name", "cpu family"/"model" and the SIMD flags that matter here, from /proc/cpuinfo.
std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "?", family = "?", number = "?", flags;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      if (!flags.empty()) break;  // end of the first processor's block
      continue;
    }
    std::string key = line.substr(0, colon), val = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    key.erase(key.find_last_not_of(" \t") + 1);
    if (key == "model name") model = val;
    else if (key == "cpu family") family = val;
    else if (key == "model") number = val;
    else if (key == "flags") flags = val;
  }
  std::string simd;
  std::istringstream fl(flags);
  for (std::string f; fl >> f;)
    if (f == "avx" || f == "avx2" || f == "fma" || f.rfind("avx512", 0) == 0 || f == "amx_tile")
      simd += (simd.empty() ? "" : " ") + f;
  return model + " (family " + family + " model " + number + "), " +
         std::to_string(std::thread::hardware_concurrency()) + " CPUs, flags: " + (simd.empty() ? "none" : simd);
}

// Max |ours - reference| / max(1, |reference|) over C, reference = OpenBLAS or naive (ours: the
// kernel set now).
double check(Operands& o) {
  time_ours(o);
  std::vector<float> ours = o.C;
#ifdef HAVE_OPENBLAS
  if (g_use_blas)
    time_openblas(o);
  else
#endif
    time_naive(o);
  double err = 0;
  for (size_t i = 0; i < ours.size(); ++i)
    err = std::max(err, std::fabs((double)ours[i] - o.C[i]) / std::max(1.0, std::fabs((double)o.C[i])));
  return err;
}

struct Row {
  std::string shape;
  int threads;
  double naive, openblas;    // GFLOPS, 0 = not run
  std::vector<double> ours;  // GFLOPS of each of g_kernels
  double err;                // the worst of g_kernels
};

bool parse_shape(const char* s, Shape& out) {
  char t[3] = "NN";
  int n = std::sscanf(s, "%dx%dx%d:%2s", &out.M, &out.K, &out.N, t);
  if (n < 3 || out.M <= 0 || out.K <= 0 || out.N <= 0) return false;
  out.ta = t[0] == 'T';
  out.tb = t[1] == 'T';
  return true;
}

std::vector<int> parse_list(const char* s) {
  std::vector<int> v;
  for (const char* p = s; *p;) {
    v.push_back(std::atoi(p));
    const char* c = std::strchr(p, ',');
    if (!c) break;
    p = c + 1;
  }
  return v;
}

void pause() { std::this_thread::sleep_for(std::chrono::milliseconds(150)); }

// One more measurement of a row: keeps the best GFLOPS seen by each library over all passes.
void measure_row(Operands& o, int threads, int reps, bool first_pass, bool naive, Row& r) {
  g_threads = threads;
  cnn::set_num_threads(threads);
#ifdef HAVE_OPENBLAS
  openblas_set_num_threads(threads);
#endif
  const size_t nk = g_kernels.size();
  if (first_pass)
    for (size_t q = 0; q < nk; ++q) {
      cnn::sgemm_set_kernel(g_kernels[q]);
      r.err = std::max(r.err, check(o));
    }
  pause();
  // Alternate rounds of calls to each library and kernel, so all meet the same machine noise.
  // Not call by call: OpenBLAS's idle threads keep spinning (with sched_yield) for a while after a
  // call and would take CPU from ours; the pause after each round lets them go to sleep (ours
  // sleep after 50 us).
  std::vector<double> best_ours(nk, 1e30);
  double best_blas = 1e30;
  const int per_round = std::max(1, reps / g_rounds);
  for (int done = 0; done < reps; done += per_round) {
    for (size_t q = 0; q < nk; ++q) {
      cnn::sgemm_set_kernel(g_kernels[q]);
      time_ours(o);  // untimed: wakes the threads and refills the caches after the pause
      for (int i = 0; i < per_round; ++i) best_ours[q] = std::min(best_ours[q], time_ours(o));
      pause();
    }
#ifdef HAVE_OPENBLAS
    if (g_use_blas) {
      time_openblas(o);
      for (int i = 0; i < per_round; ++i) best_blas = std::min(best_blas, time_openblas(o));
      pause();
    }
#endif
  }
  for (size_t q = 0; q < nk; ++q) r.ours[q] = std::max(r.ours[q], o.gflop() / best_ours[q]);
#ifdef HAVE_OPENBLAS
  if (g_use_blas) r.openblas = std::max(r.openblas, o.gflop() / best_blas);
#endif
  if (naive && first_pass) r.naive = o.gflop() / time_naive(o);
}

const char* kernel_label(cnn::GemmKernel k) { return cnn::sgemm_kernel_name(k); }

void print_header() {
  std::printf("| shape (MxKxN op) | threads | naive |");
  for (cnn::GemmKernel k : g_kernels) std::printf(" %s |", kernel_label(k));
  std::printf(" OpenBLAS |");
  for (cnn::GemmKernel k : g_kernels) std::printf(" %s/OpenBLAS |", kernel_label(k));
  std::printf(" max rel err |\n|---|---:|---:|");
  for (size_t q = 0; q < 2 * g_kernels.size() + 2; ++q) std::printf("---:|");
  std::printf("\n");
}

void print_row(const Row& r) {
  char naive[32] = "-", blas[32] = "-";
  if (r.naive > 0) std::snprintf(naive, sizeof naive, "%.2f", r.naive);
  if (r.openblas > 0) std::snprintf(blas, sizeof blas, "%.1f", r.openblas);
  std::printf("| %s | %d | %s |", r.shape.c_str(), r.threads, naive);
  for (double g : r.ours) std::printf(" %.1f |", g);
  std::printf(" %s |", blas);
  for (double g : r.ours) {
    if (r.openblas > 0)
      std::printf(" %.2f |", g / r.openblas);
    else
      std::printf(" - |");
  }
  std::printf(" %.1e |\n", r.err);
  std::fflush(stdout);
}

// Sweeps mc x kc on the given shapes (single and multi threaded) and prints GFLOPS per setting.
// The block sizes of the kernel in use (the bench may change them; the library never does).
cnn::gemm::Blocking& active_blocking() {
  switch (cnn::sgemm_active_kernel()) {
    case cnn::GemmKernel::Avx512: return cnn::gemm::kAvx512Kernel.blk;
    case cnn::GemmKernel::Avx2Fma: return cnn::gemm::kAvx2FmaKernel.blk;
    default: return cnn::gemm::kPortableKernel.blk;
  }
}

void tune(const std::vector<Shape>& shapes, const std::vector<int>& threads, int reps) {
  const int mcs[] = {72, 96, 144, 192, 240, 288, 384};
  const int kcs[] = {192, 256, 320, 384, 512, 640, 768};
  cnn::gemm::Blocking& bl = active_blocking();
  const cnn::gemm::Blocking saved = bl;
  for (const Shape& s : shapes) {
    Operands o(s);
    for (int t : threads) {
      g_threads = t;
      cnn::set_num_threads(t);
      std::printf("%s, %d thread(s): GFLOPS by mc (rows) and kc (columns)\n      ", s.label().c_str(), t);
      for (int kc : kcs) std::printf("%7d", kc);
      std::printf("\n");
      for (int mc : mcs) {
        std::printf("%6d", mc);
        for (int kc : kcs) {
          bl.mc = mc;
          bl.kc = kc;
          double best = 1e30;
          for (int i = 0; i < reps; ++i) best = std::min(best, time_ours(o));
          std::printf("%7.1f", o.gflop() / best);
          std::fflush(stdout);
        }
        std::printf("\n");
      }
    }
  }
  bl = saved;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 12, passes = 1;
  std::vector<int> threads = {1, 2};
  std::vector<Shape> shapes;
  const char* json = nullptr;
  bool quick = false, do_tune = false;
  int mc = 0, kc = 0, nc = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--reps") reps = std::max(1, std::atoi(next()));
    else if (a == "--passes") passes = std::max(1, std::atoi(next()));
    else if (a == "--rounds") g_rounds = std::max(1, std::atoi(next()));
    else if (a == "--threads") threads = parse_list(next());
    else if (a == "--json") json = next();
    else if (a == "--quick") quick = true;
    else if (a == "--no-openblas") g_use_blas = false;
    else if (a == "--clock") g_cpu_clock = std::string(next()) == "cpu";
    else if (a == "--tune") do_tune = true;
    else if (a == "--kernel" || a == "--kernels") {
      g_kernels.clear();
      std::istringstream list(next());
      for (std::string kname; std::getline(list, kname, ',');) {
        cnn::GemmKernel kk;
        if (!parse_kernel(kname, kk)) {
          std::fprintf(stderr, "unknown kernel %s (want auto, avx512, avx2, portable or naive)\n", kname.c_str());
          return 2;
        }
        if (const char* why = cnn::sgemm_kernel_unavailable(kk)) {
          std::fprintf(stderr, "kernel %s is not available on this CPU: %s\n", kname.c_str(), why);
          return 2;
        }
        g_kernels.push_back(kk);
      }
      if (g_kernels.empty()) {
        std::fprintf(stderr, "%s needs at least one kernel\n", a.c_str());
        return 2;
      }
    }
    else if (a == "--mc") mc = std::atoi(next());
    else if (a == "--kc") kc = std::atoi(next());
    else if (a == "--nc") nc = std::atoi(next());
    else if (a == "--shape") {
      Shape s{};
      if (!parse_shape(next(), s)) {
        std::fprintf(stderr, "bad --shape %s (want MxKxN or MxKxN:TN)\n", argv[i]);
        return 2;
      }
      shapes.push_back(s);
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  cnn::sgemm_set_kernel(g_kernels.front());  // --tune and --mc/--kc/--nc apply to the first one
  cnn::gemm::Blocking& bl = active_blocking();
  if (mc > 0) bl.mc = (mc + bl.mr - 1) / bl.mr * bl.mr;
  if (kc > 0) bl.kc = kc;
  if (nc > 0) bl.nc = (nc + bl.nr - 1) / bl.nr * bl.nr;
  if (shapes.empty()) {
    shapes = {{512, 512, 512, false, false},   {1024, 1024, 1024, false, false},
              {2048, 2048, 2048, false, false},
              {12544, 800, 64, false, false},  {3136, 64, 800, false, false},
              {64, 3136, 1024, false, false},  {3136, 64, 800, false, true},
              {64, 3136, 1024, true, false}};
    if (quick) shapes.resize(2);  // 512^3 and 1024^3
  }

  const std::string cpu = cpu_description();
  const char* no512 = cnn::cpu_avx512_missing();
  std::printf("CPU: %s\n", cpu.c_str());
  std::printf("kernels the CPU can run: avx512 %s, avx2+fma %s; auto = %s\n", no512 ? no512 : "yes",
              cnn::cpu_has_avx2_fma() ? "yes" : "no", cnn::sgemm_kernel_name(cnn::GemmKernel::Auto));
  for (cnn::GemmKernel k : g_kernels) {
    cnn::sgemm_set_kernel(k);
    const cnn::gemm::Blocking& b = active_blocking();
    std::printf("kernel: %s, blocks mr=%d nr=%d mc=%d kc=%d nc=%d\n", cnn::sgemm_kernel_name(k), b.mr, b.nr, b.mc,
                b.kc, b.nc);
  }
  cnn::sgemm_set_kernel(g_kernels.front());
#ifdef HAVE_OPENBLAS
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  std::printf("OpenBLAS: %s (core %s; OPENBLAS_CORETYPE=%s)\n", openblas_get_config(), openblas_get_corename(),
              coretype ? coretype : "unset");
#else
  std::printf("OpenBLAS: not linked (run.sh found no libopenblas), only ours and naive are timed\n");
#endif
  std::printf("best of %d passes x %d calls each, ours and OpenBLAS in %d alternating rounds per pass, %s time\n\n",
              passes, reps, g_rounds,
              g_cpu_clock ? "thread CPU (1 thread) / wall (more threads)" : "wall");

  if (do_tune) {
    tune(shapes, threads, reps);
    return 0;
  }

  // Every shape is measured once per pass and each row keeps its best: with passes minutes apart,
  // a burst of load from other processes cannot spoil a whole row.
  std::vector<std::unique_ptr<Operands>> ops;
  std::vector<Row> rows;
  for (const Shape& s : shapes) {
    ops.push_back(std::make_unique<Operands>(s));
    for (int t : threads) rows.push_back(Row{s.label(), t, 0, 0, std::vector<double>(g_kernels.size(), 0.0), 0});
  }
  for (int pass = 0; pass < passes; ++pass) {
    size_t r = 0;
    for (auto& o : ops) {
      const bool naive = (double)o->s.M * o->s.N * o->s.K <= 512.0 * 512 * 512;
      for (int t : threads) {
        measure_row(*o, t, reps, pass == 0, naive && t == threads.front(), rows[r]);
        std::fprintf(stderr, "pass %d/%d  %-22s %d thread(s):", pass + 1, passes, rows[r].shape.c_str(), t);
        for (size_t q = 0; q < g_kernels.size(); ++q)
          std::fprintf(stderr, " %s %.1f,", kernel_label(g_kernels[q]), rows[r].ours[q]);
        std::fprintf(stderr, " OpenBLAS %.1f\n", rows[r].openblas);
        ++r;
      }
    }
  }
  print_header();
  for (const Row& row : rows) print_row(row);

  if (json) {
    FILE* f = std::fopen(json, "w");
    if (!f) {
      std::perror(json);
      return 1;
    }
    std::fprintf(f, "{\n  \"cpu\": \"%s\",\n  \"kernels\": [", cpu.c_str());
    for (size_t q = 0; q < g_kernels.size(); ++q) {
      cnn::sgemm_set_kernel(g_kernels[q]);
      const cnn::gemm::Blocking& b = active_blocking();
      std::fprintf(f, "%s\n    {\"name\": \"%s\", \"blocking\": {\"mr\": %d, \"nr\": %d, \"mc\": %d, \"kc\": %d, \"nc\": %d}}",
                   q ? "," : "", cnn::sgemm_kernel_name(g_kernels[q]), b.mr, b.nr, b.mc, b.kc, b.nc);
    }
    std::fprintf(f, "\n  ],\n");
#ifdef HAVE_OPENBLAS
    const char* coretype = std::getenv("OPENBLAS_CORETYPE");
    std::fprintf(f, "  \"openblas\": \"%s\",\n  \"openblasCore\": \"%s\",\n  \"OPENBLAS_CORETYPE\": \"%s\",\n",
                 openblas_get_config(), openblas_get_corename(), coretype ? coretype : "unset");
#endif
    std::fprintf(f, "  \"passes\": %d,\n  \"reps\": %d,\n  \"rounds\": %d,\n  \"rows\": [\n", passes, reps, g_rounds);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::string ours, ratio;
      for (size_t q = 0; q < g_kernels.size(); ++q) {
        char buf[96];
        const char* name = kernel_label(g_kernels[q]);
        std::snprintf(buf, sizeof buf, "%s\"%s\": %.3f", q ? ", " : "", name, r.ours[q]);
        ours += buf;
        std::snprintf(buf, sizeof buf, "%s\"%s\": %.4f", q ? ", " : "", name,
                      r.openblas > 0 ? r.ours[q] / r.openblas : 0.0);
        ratio += buf;
      }
      std::fprintf(f,
                   "    {\"shape\": \"%s\", \"threads\": %d, \"naive\": %.3f, \"ours\": {%s}, \"openblas\": %.3f, "
                   "\"ratio\": {%s}, \"maxRelErr\": %.3g}%s\n",
                   r.shape.c_str(), r.threads, r.naive, ours.c_str(), r.openblas, ratio.c_str(), r.err,
                   i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
    std::printf("\nwrote %s\n", json);
  }
  return 0;
}
