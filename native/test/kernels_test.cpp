// kernels_test.cpp: the 8-bit AdamW, RMSNorm and log-prob kernels of native/ on the host emulator
// (emulator.h) against plain transcriptions of their CPU references (AdamW8bit.blockUpdate with the
// spec's quantize search; CpuBackend.rmsNorm; a direct logsumexp). The 8-bit step must match bit for
// bit (same float operations in the same order); the others within float rounding.
#define JANUS_EMULATION 1
#include "../adamw8bit.cu"
#include "../logprobs.cu"
#include "../rmsnorm.cu"

#include <cstdio>
#include <random>

namespace {

// create_dynamic_map(signed, 7, 8) as the spec writes it (float32 linspace emulation).
std::vector<float> dynamicMap(bool isSigned) {
    std::vector<float> data;
    for (int i = 0; i <= 6; i++) {
        int n = isSigned ? (1 << i) + 1 : (1 << (i + 1)) + 1;
        float start = 0.1f, end = 1.0f, step = (end - start) / (float)(n - 1);
        std::vector<float> b(n);
        for (int k = 0; k < n; k++) b[k] = k < n / 2 ? start + (float)k * step : end - (float)(n - 1 - k) * step;
        float decade = (float)std::pow(10.0, i - 6);
        for (int k = 0; k + 1 < n; k++) {
            float mean = (b[k] + b[k + 1]) / 2.0f;
            data.push_back(decade * mean);
            if (isSigned) data.push_back(-decade * mean);
        }
    }
    data.push_back(0.0f);
    data.push_back(1.0f);
    std::sort(data.begin(), data.end());
    return data;
}

int quantizeRef(const std::vector<float>& code, float x, bool isSigned) {
    int pivot = 127, upperPivot = 255, lowerPivot = 0;
    float lower = isSigned ? -1.0f : 0.0f, upper = 1.0f, val = code[127];
    for (int i = 64; i > 0; i >>= 1) {
        if (x > val) { lowerPivot = pivot; lower = val; pivot += i; }
        else { upperPivot = pivot; upper = val; pivot -= i; }
        val = code[pivot];
    }
    if (x > val) return x > (upper + val) / 2.0f ? upperPivot : pivot;
    return x < (lower + val) / 2.0f ? lowerPivot : pivot;
}

float signum(float x) { return x > 0 ? 1.0f : (x < 0 ? -1.0f : x); }

bool adamw8bit(std::mt19937& rng) {
    const std::vector<float> m1 = dynamicMap(true), m2 = dynamicMap(false);
    if (m1.size() != 256 || m2.size() != 256) { std::printf("map size %zu %zu\n", m1.size(), m2.size()); return false; }
    const ll n = 2 * ADAMW8_BLOCK + 777;  // two full blocks and a partial one
    const ll blocks = (n + ADAMW8_BLOCK - 1) / ADAMW8_BLOCK;
    std::normal_distribution<float> normal(0.0f, 1e-2f);
    std::uniform_int_distribution<int> byte(0, 255);
    std::vector<float> p(n), g(n), a1(blocks), a2(blocks);
    std::vector<unsigned char> c1(n), c2(n);
    for (ll i = 0; i < n; i++) { p[i] = normal(rng) * 10; g[i] = normal(rng); c1[i] = byte(rng); c2[i] = byte(rng); }
    g[5] = NAN; g[3000] = INFINITY;                 // non-finite gradients reset their moments
    for (ll i = 2 * ADAMW8_BLOCK; i < n; i++) g[i] = 0.0f, c1[i] = 127, c2[i] = 0;  // an all-zero block
    for (ll b = 0; b < blocks; b++) { a1[b] = b == 2 ? 0.0f : 0.05f * (b + 1); a2[b] = b == 2 ? 0.0f : 1e-4f * (b + 1); }
    const float b1 = 0.9f, b2 = 0.999f, lr = 1e-3f, eps = 1e-8f, wd = 0.01f;
    const int step = 3;
    const float c1f = 1.0f - (float)std::pow(b1, step), c2f = (float)std::sqrt(1.0f - (float)std::pow(b2, step));
    const float stepSize = -lr * c2f / c1f, c2eps = c2f * eps, decay = 1.0f - lr * wd;

    // reference: AdamW8bit.blockUpdate
    std::vector<float> rp = p, ra1 = a1, ra2 = a2;
    std::vector<unsigned char> rc1 = c1, rc2 = c2;
    for (ll b = 0; b < blocks; b++) {
        ll off = b * ADAMW8_BLOCK, end = std::min(n, off + ADAMW8_BLOCK);
        std::vector<float> s1(end - off), s2(end - off);
        float new1 = 0, new2 = 0;
        for (ll j = off; j < end; j++) {
            float gj = g[j], &x1 = s1[j - off], &x2 = s2[j - off];
            if (std::isfinite(gj)) {
                x1 = b1 * (m1[rc1[j]] * ra1[b]) + (1.0f - b1) * gj;
                x2 = b2 * (m2[rc2[j]] * ra2[b]) + (1.0f - b2) * (gj * gj);
            } else { x1 = 0; x2 = 0; }
            if (std::fabs(x1) > new1) new1 = std::fabs(x1);
            if (x2 > new2) new2 = x2;
        }
        ra1[b] = new1;
        ra2[b] = new2;
        for (ll j = off; j < end; j++) {
            float x1 = s1[j - off], x2 = s2[j - off];
            if (std::isfinite(g[j])) rp[j] = (rp[j] + stepSize * x1 / (std::sqrt(x2) + c2eps)) * decay;
            int code = 127;
            if (new1 != 0) {
                code = quantizeRef(m1, x1 / new1, true);
                if (signum(m1[code]) != signum(x1)) code += x1 > 0 ? 1 : -1;
            }
            rc1[j] = (unsigned char)code;
            rc2[j] = (unsigned char)(new2 == 0 ? 0 : quantizeRef(m2, x2 / new2, false));
        }
    }
    emuLaunch({(unsigned)blocks, 1, 1}, JANUS_THREADS, 0, [&] {
        janus_adamw8bit_step(p.data(), g.data(), c1.data(), c2.data(), a1.data(), a2.data(), m1.data(), m2.data(), n,
                             b1, 1.0f - b1, b2, 1.0f - b2, stepSize, c2eps, decay, 1);
    });
    ll bad = 0;
    for (ll i = 0; i < n; i++) bad += (std::memcmp(&p[i], &rp[i], 4) != 0) + (c1[i] != rc1[i]) + (c2[i] != rc2[i]);
    for (ll b = 0; b < blocks; b++) bad += (a1[b] != ra1[b]) + (a2[b] != ra2[b]);
    std::printf("adamw8bit: %lld mismatches of %lld values (bit-exact expected)%s\n", bad, 3 * n + 2 * blocks,
                bad ? "  FAIL" : "");
    return bad == 0;
}

bool rmsnorm(std::mt19937& rng) {
    const int n = 5, c = 1000;
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(n * c), w(c), out(n * c), rstd(n);
    for (auto& v : x) v = normal(rng);
    for (auto& v : w) v = 1 + 0.1f * normal(rng);
    emuLaunch({(unsigned)n, 1, 1}, JANUS_THREADS, 0,
              [&] { janus_rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), n, c, 1e-5f); });
    double err = 0;
    for (int r = 0; r < n; r++) {
        double ss = 0;
        for (int i = 0; i < c; i++) ss += (double)(x[r * c + i] * x[r * c + i]);
        float s = (float)(1.0 / std::sqrt((float)(ss / c) + 1e-5f));
        err = std::max(err, (double)std::fabs(rstd[r] - s) / s);
        for (int i = 0; i < c; i++) err = std::max(err, (double)std::fabs(out[r * c + i] - w[i] * (x[r * c + i] * s)));
    }
    std::printf("rmsnorm: max err %.3e%s\n", err, err > 1e-6 ? "  FAIL" : "");
    return err <= 1e-6;
}

bool logprobs(std::mt19937& rng) {
    const int n = 4, vocab = 1000, chunk = 384;  // three chunks, the last partial
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> z(n * vocab);
    for (auto& v : z) v = normal(rng);
    std::vector<int> labels = {5, 999, JANUS_IGNORE_INDEX, 400};
    std::vector<float> runMax(n), runSum(n), label(n), logp(n), lse(n), dLogp = {1.0f, -0.5f, 2.0f, 0.25f};
    std::vector<float> dz(n * vocab);
    for (int v0 = 0; v0 < vocab; v0 += chunk) {
        int vc = std::min(chunk, vocab - v0);
        std::vector<float> part(n * vc);
        for (int r = 0; r < n; r++) std::copy(&z[r * vocab + v0], &z[r * vocab + v0 + vc], &part[r * vc]);
        emuLaunch({(unsigned)n, 1, 1}, JANUS_THREADS, 0, [&] {
            janus_logprobs_chunk_forward(runMax.data(), runSum.data(), label.data(), part.data(), labels.data(), n, vc,
                                         v0, v0 == 0);
        });
    }
    emuLaunch({1, 1, 1}, JANUS_THREADS, 0, [&] {
        janus_logprobs_finalize(logp.data(), lse.data(), runMax.data(), runSum.data(), label.data(), labels.data(), n);
    });
    for (int v0 = 0; v0 < vocab; v0 += chunk) {
        int vc = std::min(chunk, vocab - v0);
        std::vector<float> part(n * vc);
        for (int r = 0; r < n; r++) std::copy(&z[r * vocab + v0], &z[r * vocab + v0 + vc], &part[r * vc]);
        emuLaunch({(unsigned)n, 1, 1}, JANUS_THREADS, 0, [&] {
            janus_logprobs_chunk_backward(part.data(), part.data(), lse.data(), dLogp.data(), labels.data(), n, vc, v0);
        });
        for (int r = 0; r < n; r++) std::copy(&part[r * vc], &part[r * vc + vc], &dz[r * vocab + v0]);
    }
    double err = 0;
    for (int r = 0; r < n; r++) {
        double mx = -INFINITY, sum = 0;
        for (int v = 0; v < vocab; v++) mx = std::max(mx, (double)z[r * vocab + v]);
        for (int v = 0; v < vocab; v++) sum += std::exp(z[r * vocab + v] - mx);
        double l = mx + std::log(sum);
        double lp = labels[r] == JANUS_IGNORE_INDEX ? 0 : z[r * vocab + labels[r]] - l;
        err = std::max({err, std::fabs(lse[r] - l), std::fabs(logp[r] - lp)});
        double w = labels[r] == JANUS_IGNORE_INDEX ? 0 : dLogp[r];
        for (int v = 0; v < vocab; v++) {
            double want = w * ((v == labels[r]) - std::exp(z[r * vocab + v] - l));
            err = std::max(err, std::fabs(dz[r * vocab + v] - want));
        }
    }
    std::printf("logprobs: max err %.3e%s\n", err, err > 1e-4 ? "  FAIL" : "");
    return err <= 1e-4;
}

}  // namespace

int main() {
    std::mt19937 rng(99);
    bool ok = adamw8bit(rng);
    ok = rmsnorm(rng) && ok;
    ok = logprobs(rng) && ok;
    std::printf(ok ? "all kernel cases pass\n" : "kernel cases FAILED\n");
    return ok ? 0 : 1;
}
