// attention_test.cpp: the FlashAttention kernels of native/ on the host emulator (emulator.h) against
// a double-precision reference written from ../shared/spec/model.md, over causal / window / GQA /
// varlen / Tq ≠ Tk / empty-row / empty-sequence cases and head dims 32, 64, 80, 128.
// Inputs are bf16-exact, so the reference sees what the kernels see; the remaining error is the bf16
// rounding of P and dS before their products (tolerance: 2% of the largest reference magnitude).
#define JANUS_EMULATION 1
#include "../flash_attention_forward.cu"
#include "../flash_attention_backward.cu"

#include <cstdio>
#include <random>
#include <string>

namespace {

struct Case {
    std::string name;
    std::vector<int> cuQ, cuK;
    int h, kvh, d, causal, window;
};

float bf16Round(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }

// One summary line per case: each output's max |err| relative to its largest reference magnitude.
struct Result {
    double worst = 0;
    std::string line, failed;
    void check(const char* name, const std::vector<float>& got, const std::vector<double>& want, double tol) {
        double scale = 1e-3, err = 0;
        for (double w : want) scale = std::max(scale, std::fabs(w));
        for (size_t i = 0; i < got.size(); i++) {
            double e = std::isfinite(got[i]) ? std::fabs(got[i] - want[i]) : 1e30;
            err = std::max(err, e);
        }
        double rel = err / scale;
        char buf[64];
        std::snprintf(buf, sizeof buf, " %s %.1e", name, rel);
        line += buf;
        if (!(rel <= tol)) worst = 1, failed += std::string(" ") + name;
    }
};

bool run(const Case& c, std::mt19937& rng) {
    const int S = (int)c.cuQ.size() - 1, nq = c.cuQ[S], nk = c.cuK[S], h = c.h, kvh = c.kvh, d = c.d, group = h / kvh;
    const float scale = 1.0f / std::sqrt((float)d);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto fill = [&](size_t n) {
        std::vector<float> v(n);
        for (auto& x : v) x = bf16Round(normal(rng));
        return v;
    };
    std::vector<float> q = fill((size_t)nq * h * d), k = fill((size_t)nk * kvh * d), v = fill((size_t)nk * kvh * d);
    std::vector<float> dO = fill((size_t)nq * h * d);
    auto toBf16 = [](const std::vector<float>& x) {
        std::vector<__nv_bfloat16> y(x.size());
        for (size_t i = 0; i < x.size(); i++) y[i] = __float2bfloat16_rn(x[i]);
        return y;
    };
    auto qb = toBf16(q), kb = toBf16(k), vb = toBf16(v), dOb = toBf16(dO);

    // reference (double)
    std::vector<double> rOut((size_t)nq * h * d, 0), rLse((size_t)nq * h, -INFINITY), rDq((size_t)nq * h * d, 0);
    std::vector<double> rDk((size_t)nk * kvh * d, 0), rDv((size_t)nk * kvh * d, 0);
    for (int s = 0; s < S; s++) {
        int q0 = c.cuQ[s], tq = c.cuQ[s + 1] - q0, k0 = c.cuK[s], tk = c.cuK[s + 1] - k0, off = tk - tq;
        for (int hq = 0; hq < h; hq++) {
            int kv = hq / group;
            for (int i = 0; i < tq; i++) {
                int hi = c.causal ? std::min(tk - 1, i + off) : tk - 1;
                int lo = c.window >= 0 ? std::max(0, i + off - c.window) : 0;
                if (lo > hi) continue;
                const float* qi = &q[((size_t)(q0 + i) * h + hq) * d];
                const float* gi = &dO[((size_t)(q0 + i) * h + hq) * d];
                std::vector<double> sc(hi - lo + 1), p(hi - lo + 1), dp(hi - lo + 1);
                double mx = -INFINITY;
                for (int j = lo; j <= hi; j++) {
                    const float* kj = &k[((size_t)(k0 + j) * kvh + kv) * d];
                    double dot = 0;
                    for (int e = 0; e < d; e++) dot += (double)qi[e] * kj[e];
                    sc[j - lo] = dot * scale;
                    mx = std::max(mx, sc[j - lo]);
                }
                double sum = 0;
                for (size_t j = 0; j < sc.size(); j++) sum += std::exp(sc[j] - mx);
                double* o = &rOut[((size_t)(q0 + i) * h + hq) * d];
                for (int j = lo; j <= hi; j++) {
                    p[j - lo] = std::exp(sc[j - lo] - mx) / sum;
                    const float* vj = &v[((size_t)(k0 + j) * kvh + kv) * d];
                    for (int e = 0; e < d; e++) o[e] += p[j - lo] * vj[e];
                }
                rLse[(size_t)(q0 + i) * h + hq] = mx + std::log(sum);
                double D = 0;
                for (int e = 0; e < d; e++) D += (double)gi[e] * o[e];
                for (int j = lo; j <= hi; j++) {
                    const float* vj = &v[((size_t)(k0 + j) * kvh + kv) * d];
                    double x = 0;
                    for (int e = 0; e < d; e++) x += (double)gi[e] * vj[e];
                    double ds = p[j - lo] * (x - D);
                    const float* kj = &k[((size_t)(k0 + j) * kvh + kv) * d];
                    double* dqi = &rDq[((size_t)(q0 + i) * h + hq) * d];
                    double* dkj = &rDk[((size_t)(k0 + j) * kvh + kv) * d];
                    double* dvj = &rDv[((size_t)(k0 + j) * kvh + kv) * d];
                    for (int e = 0; e < d; e++) {
                        dqi[e] += scale * ds * kj[e];
                        dkj[e] += scale * ds * qi[e];
                        dvj[e] += p[j - lo] * gi[e];
                    }
                }
            }
        }
    }

    // kernels
    int maxTq = 0, maxTk = 0;
    for (int s = 0; s < S; s++) {
        maxTq = std::max(maxTq, c.cuQ[s + 1] - c.cuQ[s]);
        maxTk = std::max(maxTk, c.cuK[s + 1] - c.cuK[s]);
    }
    std::vector<float> out((size_t)nq * h * d, NAN), lse((size_t)nq * h, NAN), delta((size_t)nq * h, NAN);
    std::vector<float> dq((size_t)nq * h * d, NAN), dk((size_t)nk * kvh * d, NAN), dv((size_t)nk * kvh * d, NAN);
    const int* cuQ = c.cuQ.data();
    const int* cuK = c.cuK.data();
    emuLaunch({(unsigned)((maxTq + FA_BLOCK_M - 1) / FA_BLOCK_M), (unsigned)h, (unsigned)S}, FA_THREADS,
              FA_FWD_SMEM_BYTES, [&] {
                  janus_flash_attention_forward(out.data(), lse.data(), qb.data(), kb.data(), vb.data(), cuQ, cuK, h,
                                                kvh, d, c.causal, c.window, scale);
              });
    emuLaunch({(unsigned)((nq * h + 7) / 8), 1, 1}, 256, 0, [&] {
        janus_flash_attention_backward_delta(delta.data(), dO.data(), out.data(), nq, h, d);
    });
    emuLaunch({(unsigned)((maxTk + FA_BLOCK_N - 1) / FA_BLOCK_N), (unsigned)kvh, (unsigned)S}, FA_THREADS,
              FA_DKDV_SMEM_BYTES, [&] {
                  janus_flash_attention_backward_dkdv(dk.data(), dv.data(), qb.data(), kb.data(), vb.data(),
                                                      dOb.data(), lse.data(), delta.data(), cuQ, cuK, h, kvh, d,
                                                      c.causal, c.window, scale);
              });
    emuLaunch({(unsigned)((maxTq + FA_BLOCK_M - 1) / FA_BLOCK_M), (unsigned)h, (unsigned)S}, FA_THREADS,
              FA_DQ_SMEM_BYTES, [&] {
                  janus_flash_attention_backward_dq(dq.data(), qb.data(), kb.data(), vb.data(), dOb.data(),
                                                    lse.data(), delta.data(), cuQ, cuK, h, kvh, d, c.causal, c.window,
                                                    scale);
              });

    Result r;
    // LSE: −inf must match exactly, finite values within 1e-3 absolute (fp32 online softmax)
    int lseBad = 0;
    for (size_t i = 0; i < lse.size(); i++) {
        bool wantInf = std::isinf(rLse[i]);
        if (wantInf ? !(std::isinf(lse[i]) && lse[i] < 0) : !(std::fabs(lse[i] - rLse[i]) < 1e-3)) lseBad++;
    }
    if (lseBad) r.worst = 1, r.failed += " lse";
    // delta = rowsum(dO ⊙ O) of the kernel's own fp32 out, in double; error relative to Σ|dO·O| of the row
    double deltaErr = 0;
    for (size_t row = 0; row < delta.size(); row++) {
        double sum = 0, mag = 1e-30;
        for (int e = 0; e < d; e++) {
            double t = (double)dO[row * d + e] * out[row * d + e];
            sum += t, mag += std::fabs(t);
        }
        deltaErr = std::max(deltaErr, std::isfinite(delta[row]) ? std::fabs(delta[row] - sum) / mag : 1e30);
    }
    if (!(deltaErr <= 1e-6)) r.worst = 1, r.failed += " delta";
    r.check("out", out, rOut, 2e-2);
    r.check("dq", dq, rDq, 2e-2);
    r.check("dk", dk, rDk, 2e-2);
    r.check("dv", dv, rDv, 2e-2);
    char head[160];
    std::snprintf(head, sizeof head, "attention %-34s S=%d nq=%d nk=%d H=%d/%d D=%d:", c.name.c_str(), S, nq, nk, h, kvh, d);
    std::printf("%s lse %d/%zu off, delta %.1e,%s of max|ref| (tol 2e-2)%s%s\n", head, lseBad, lse.size(), deltaErr,
                r.line.c_str(), r.worst ? "  FAIL:" : "", r.failed.c_str());
    return r.worst == 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::mt19937 rng(1234);
    std::vector<Case> cases = {
        {"varlen causal GQA", {0, 70, 103}, {0, 70, 103}, 4, 2, 64, 1, -1},
        {"causal window 20, one kv head", {0, 97}, {0, 97}, 2, 1, 128, 1, 20},
        {"non-causal Tq<Tk, d=80", {0, 40}, {0, 75}, 2, 2, 80, 0, -1},
        {"causal Tq>Tk (empty rows), d=32", {0, 50}, {0, 20}, 2, 1, 32, 1, -1},
        {"empty middle sequence, window 0", {0, 10, 10, 40}, {0, 10, 10, 40}, 2, 2, 64, 1, 0},
        {"non-causal window 7, Tq>Tk, d=128", {0, 66}, {0, 65}, 1, 1, 128, 0, 7},
    };
    int failed = 0;
    for (size_t i = 0; i < cases.size(); i++) {
        if (argc > 1 && std::to_string(i) != argv[1]) continue;
        failed += run(cases[i], rng) ? 0 : 1;
    }
    std::printf(failed ? "%d case(s) FAILED\n" : "all attention cases pass\n", failed);
    return failed ? 1 : 0;
}
