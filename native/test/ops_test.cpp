// ops_test.cpp: the element-wise, embedding, RoPE, SwiGLU, RMSNorm-backward, optimizer and reduction
// kernels of native/ on the host emulator (emulator.h), launched with KERNELS.md's geometry.
//
// Where KERNELS.md says a kernel is bit-identical to the CPU, its reference below is a C++
// transcription of the named Java method (janus-core), compiled with -ffp-contract=off so that, as
// in Java, no a·b+c becomes an fma unless written std::fma (Java's Math.fma / FloatVector.fma), and
// the comparison is bit for bit (two NaNs count as equal: their payloads are not part of the contract).
// The other kernels are compared with a double-precision definition within a stated tolerance.
// One line per case: name, mismatches or max error, FAIL when out of contract.
#define JANUS_EMULATION 1
#include "../adamw.cu"
#include "../adamw8bit.cu"
#include "../casts.cu"
#include "../elementwise.cu"
#include "../embedding.cu"
#include "../reduce.cu"
#include "../rmsnorm.cu"
#include "../rope.cu"
#include "../swiglu.cu"

#include <cstdio>
#include <random>
#include <string>

namespace {

unsigned ceilDiv(long long a, long long b) { return (unsigned)((a + b - 1) / b); }

uint32_t bitsOf(float x) { uint32_t b; std::memcpy(&b, &x, 4); return b; }
float fromBits(uint32_t b) { float x; std::memcpy(&x, &b, 4); return x; }

bool sameBits(float a, float b) { return (std::isnan(a) && std::isnan(b)) || bitsOf(a) == bitsOf(b); }

int failures = 0;

// Reports a bit-exact comparison: mismatching elements of `got` against `want`.
void reportBits(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                const std::string& ref) {
    long long bad = 0, first = -1;
    for (size_t i = 0; i < got.size(); i++)
        if (!sameBits(got[i], want[i])) { if (first < 0) first = (long long)i; bad++; }
    std::printf("%-40s %lld/%zu bits differ vs %s%s", name.c_str(), bad, got.size(), ref.c_str(), bad ? "  FAIL" : "\n");
    if (bad) {
        std::printf(" (first [%lld]: %a vs %a)\n", first, got[first], want[first]);
        failures++;
    }
}

void reportErr(const std::string& name, double err, double tol, const std::string& what) {
    bool bad = !(err <= tol);
    std::printf("%-40s max err %.3e (tol %.0e, %s)%s\n", name.c_str(), err, tol, what.c_str(), bad ? "  FAIL" : "");
    failures += bad;
}

std::vector<float> randn(std::mt19937& rng, size_t n, float sd = 1.0f) {
    std::normal_distribution<float> normal(0.0f, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = normal(rng);
    return v;
}

// ---------------------------------------------------------------------------------------- casts

// HalfFloats.floatToBf16 (janus-core tensor/HalfFloats.java).
uint16_t floatToBf16Ref(float value) {
    uint32_t bits = bitsOf(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x0040);
    uint32_t roundingBias = 0x7fff + ((bits >> 16) & 1);
    return (uint16_t)((bits + roundingBias) >> 16);
}

void casts(std::mt19937& rng) {
    // ties to even both ways, subnormals (incl. ties and the round-up into the smallest normal),
    // overflow to inf, ±0, ±inf, quiet and signalling NaNs (a naive round would turn 0x7f800001 into inf)
    std::vector<uint32_t> special = {0x00000000, 0x80000000, 0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001,
                                     0x3f80ffff, 0xbf808000, 0xbf818000, 0x00000001, 0x00008000, 0x00018000,
                                     0x0000ffff, 0x007fffff, 0x807fffff, 0x00800000, 0x7f7f7fff, 0x7f7f8000,
                                     0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7f800001, 0x7fc00000,
                                     0xffc00000, 0x7fbfffff, 0xff800001, 0x7fffffff};
    std::vector<float> in;
    for (uint32_t b : special) in.push_back(fromBits(b));
    std::uniform_int_distribution<uint32_t> any;
    while (in.size() < 20000) {
        uint32_t b = any(rng);
        if (in.size() % 4 == 0) b = (b & 0xffff0000u) | 0x8000u;  // a quarter exact ties
        in.push_back(fromBits(b));
    }
    const ll n = (ll)in.size();
    std::vector<__nv_bfloat16> out(n);
    emuLaunch({ceilDiv(n, 256), 1, 1}, JANUS_THREADS, 0, [&] { janus_cast_f32_bf16(out.data(), in.data(), n); });
    long long bad = 0, nanBad = 0;
    for (ll i = 0; i < n; i++) {
        uint16_t got;
        std::memcpy(&got, &out[i], 2);
        uint16_t want = floatToBf16Ref(in[i]);
        if (std::isnan(in[i])) nanBad += (got & 0x7fff) <= 0x7f80;  // NaN stays NaN; payload not compared
        else bad += got != want;
    }
    bool fail = bad || nanBad;
    std::printf("%-40s %lld/%lld bits differ vs HalfFloats.floatToBf16, %lld NaN lost%s\n", "cast f32->bf16", bad,
                (long long)n, nanBad, fail ? "  FAIL" : "");
    failures += fail;

    // bf16 -> f32: every one of the 65536 patterns, exact widening (HalfFloats.bf16ToFloat)
    std::vector<__nv_bfloat16> all(65536);
    for (uint32_t b = 0; b < 65536; b++) { uint16_t s = (uint16_t)b; std::memcpy(&all[b], &s, 2); }
    std::vector<float> wide(65536), want(65536);
    for (uint32_t b = 0; b < 65536; b++) want[b] = fromBits(b << 16);
    emuLaunch({256, 1, 1}, JANUS_THREADS, 0, [&] { janus_cast_bf16_f32(wide.data(), all.data(), 65536); });
    long long wbad = 0;
    for (uint32_t b = 0; b < 65536; b++) wbad += bitsOf(wide[b]) != bitsOf(want[b]);  // NaNs too: widening keeps bits
    std::printf("%-40s %lld/65536 bits differ vs HalfFloats.bf16ToFloat%s\n", "cast bf16->f32 (all patterns)", wbad,
                wbad ? "  FAIL" : "");
    failures += wbad != 0;
}

// ------------------------------------------------------------------------------------ embedding

void embedding(std::mt19937& rng) {
    const int vocab = 7, c = 300, n = 40;  // c > 256: two column blocks, the second partial
    std::uniform_int_distribution<int> id(0, vocab - 1);
    std::vector<int> ids(n);
    for (auto& x : ids) x = id(rng);
    ids[0] = ids[1] = ids[2] = 3;  // repeated ids
    std::vector<float> table = randn(rng, (size_t)vocab * c), dOut = randn(rng, (size_t)n * c);
    // mixed magnitudes, so that a different accumulation order changes the float sum
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++) dOut[(size_t)i * c + j] *= (i % 3 == 0) ? 1e6f : (i % 3 == 1 ? 1.0f : 1e-3f);
    std::vector<float> out((size_t)n * c, NAN);
    emuLaunch({(unsigned)n, 1, 1}, JANUS_THREADS, 0,
              [&] { janus_embedding_forward(out.data(), table.data(), ids.data(), n, c); });
    std::vector<float> want((size_t)n * c);
    for (int i = 0; i < n; i++) std::copy(&table[(size_t)ids[i] * c], &table[(size_t)ids[i] * c + c], &want[(size_t)i * c]);
    reportBits("embedding forward", out, want, "table[ids[i]]");

    // CpuBackend.embeddingBackward: for t in order, table[id[t]] += dOut[t] (float adds)
    std::vector<float> dTable = randn(rng, (size_t)vocab * c), ref = dTable;
    for (int t = 0; t < n; t++)
        for (int j = 0; j < c; j++) ref[(size_t)ids[t] * c + j] += dOut[(size_t)t * c + j];
    emuLaunch({ceilDiv(c, 256), 1, 1}, JANUS_THREADS, 0,
              [&] { janus_embedding_backward(dTable.data(), dOut.data(), ids.data(), n, c); });
    reportBits("embedding backward (repeated ids)", dTable, ref, "CpuBackend.embeddingBackward");
}

// -------------------------------------------------------------------------------------- rmsnorm

void rmsnormBackward(std::mt19937& rng) {
    const int n = 37, c = 300;
    std::vector<float> x = randn(rng, (size_t)n * c), w = randn(rng, c), dOut = randn(rng, (size_t)n * c);
    std::vector<float> rstd(n);
    for (int t = 0; t < n; t++) {  // any positive rstd; the forward's own value is not needed here
        double ss = 0;
        for (int j = 0; j < c; j++) ss += (double)x[(size_t)t * c + j] * x[(size_t)t * c + j];
        rstd[t] = (float)(1.0 / std::sqrt(ss / c + 1e-5));
    }
    // dw: CpuBackend.rmsNormBackward's dWeight loop: acc[c] += g·x·s over rows in order, then dw[c] += acc[c]
    std::vector<float> dw = randn(rng, c), ref = dw;
    for (int j = 0; j < c; j++) {
        float acc = 0.0f;
        for (int t = 0; t < n; t++) acc += dOut[(size_t)t * c + j] * x[(size_t)t * c + j] * rstd[t];
        ref[j] = ref[j] + acc;
    }
    emuLaunch({ceilDiv(c, 256), 1, 1}, JANUS_THREADS, 0,
              [&] { janus_rmsnorm_backward_dw(dw.data(), dOut.data(), x.data(), rstd.data(), n, c); });
    reportBits("rmsnorm backward dw", dw, ref, "CpuBackend.rmsNormBackward");

    // dx (accumulates): the double definition; the dot product's order differs from the CPU's
    std::vector<float> dx = randn(rng, (size_t)n * c), old = dx;
    emuLaunch({(unsigned)n, 1, 1}, JANUS_THREADS, 0,
              [&] { janus_rmsnorm_backward_dx(dx.data(), dOut.data(), x.data(), w.data(), rstd.data(), n, c); });
    double err = 0;
    for (int t = 0; t < n; t++) {
        double s = rstd[t], dot = 0, scale = 0;
        for (int j = 0; j < c; j++) dot += (double)dOut[(size_t)t * c + j] * w[j] * x[(size_t)t * c + j];
        std::vector<double> want(c);
        for (int j = 0; j < c; j++) {
            size_t a = (size_t)t * c + j;
            want[j] = old[a] + s * w[j] * dOut[a] - s * s * s * dot / c * x[a];
            scale = std::max(scale, std::fabs(want[j]));
        }
        for (int j = 0; j < c; j++) err = std::max(err, std::fabs(dx[(size_t)t * c + j] - want[j]) / scale);
    }
    reportErr("rmsnorm backward dx", err, 1e-6, "of the row's max|dx|, vs double");
}

// ----------------------------------------------------------------------------------------- rope

// CpuBackend.rotate (rope: sign +1, ropeBackward: sign −1).
void ropeRef(std::vector<float>& x, const std::vector<float>& cs, const std::vector<float>& sn, int n, int heads, int d,
             float sign) {
    int half = d / 2;
    for (int t = 0; t < n; t++)
        for (int h = 0; h < heads; h++) {
            float* row = &x[((size_t)t * heads + h) * d];
            for (int j = 0; j < half; j++) {
                float x1 = row[j], x2 = row[half + j], sj = sign * sn[(size_t)t * half + j], c = cs[(size_t)t * half + j];
                row[j] = x1 * c - x2 * sj;
                row[half + j] = x2 * c + x1 * sj;
            }
        }
}

void rope(std::mt19937& rng, int n, int heads, int d, float sign) {
    int half = d / 2, pairs = heads * half;
    unsigned threads = (unsigned)std::min(1024, (pairs + 31) / 32 * 32);
    std::vector<float> x = randn(rng, (size_t)n * heads * d), angle = randn(rng, (size_t)n * half, 3.0f);
    std::vector<float> cs(angle.size()), sn(angle.size());
    for (size_t i = 0; i < angle.size(); i++) cs[i] = std::cos(angle[i]), sn[i] = std::sin(angle[i]);
    std::vector<float> ref = x;
    ropeRef(ref, cs, sn, n, heads, d, sign);
    emuLaunch({(unsigned)n, 1, 1}, (int)threads, 0,
              [&] { janus_rope(x.data(), cs.data(), sn.data(), n, heads, d, sign); });
    char name[96];
    std::snprintf(name, sizeof name, "rope sign %+.0f H=%d D=%d (%u thr%s)", sign, heads, d, threads,
                  pairs > (int)threads ? ", loops" : "");
    reportBits(name, x, ref, "CpuBackend.rotate");
}

// --------------------------------------------------------------------------------------- swiglu

// Simd.exp(float) / Simd.sigmoid(float): Math.fma exactly where Java has it.
float expRef(float x) {
    const float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f, ROUNDER = 12582912.0f;
    const int ROUNDER_BITS = 0x4B400000;
    const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
                P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    if (x < -87.33654475f) return 0.0f;
    if (x > 88.37626266f) return INFINITY;
    float t = std::fma(x, LOG2E, ROUNDER);
    float n = t - ROUNDER;
    float r = std::fma(n, -LN2_LO, std::fma(n, -LN2_HI, x));
    float p = std::fma(std::fma(std::fma(std::fma(std::fma(P0, r, P1), r, P2), r, P3), r, P4), r, P5);
    float y = std::fma(p, r * r, r) + 1.0f;
    return y * fromBits((uint32_t)(((int32_t)bitsOf(t) - (ROUNDER_BITS - 127)) << 23));
}
float sigmoidRef(float x) {
    float e = expRef(-std::fabs(x));
    return x >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

void swiglu(std::mt19937& rng) {
    const ll n = 3000;
    std::vector<float> gate = randn(rng, n, 6.0f), up = randn(rng, n), dOut = randn(rng, n);
    // the exp's edges: its cut-offs ±87.3/88.4, large and tiny arguments, ±0, ±inf
    float edge[] = {0.0f, -0.0f, 87.33654475f, -87.33654475f, -87.4f, 88.37626266f, 88.4f, -88.4f, 100.0f, -100.0f,
                    1e-30f, -1e-30f, 20.0f, -20.0f, 0.5f, -0.5f, INFINITY, -INFINITY, 1e-40f, 3.4e38f};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) gate[i * 7] = edge[i];
    std::vector<float> out(n), refOut(n), dGate(n), dUp(n), refGate(n), refUp(n);
    for (ll i = 0; i < n; i++) {
        float g = gate[i], u = up[i], d = dOut[i], s = sigmoidRef(g);
        refOut[i] = g * sigmoidRef(g) * u;                 // Simd.swiglu (scalar tail; the vector body is the same ops)
        refGate[i] = d * u * (s * (1.0f + g * (1.0f - s)));  // Simd.swigluBackward
        refUp[i] = d * (g * s);
    }
    emuLaunch({ceilDiv(n, 256), 1, 1}, JANUS_THREADS, 0,
              [&] { janus_swiglu_forward(out.data(), gate.data(), up.data(), n); });
    reportBits("swiglu forward", out, refOut, "Simd.swiglu");
    emuLaunch({ceilDiv(n, 256), 1, 1}, JANUS_THREADS, 0, [&] {
        janus_swiglu_backward(dGate.data(), dUp.data(), dOut.data(), gate.data(), up.data(), n);
    });
    std::vector<float> both = dGate, refBoth = refGate;
    both.insert(both.end(), dUp.begin(), dUp.end());
    refBoth.insert(refBoth.end(), refUp.begin(), refUp.end());
    reportBits("swiglu backward (dGate, dUp)", both, refBoth, "Simd.swigluBackward");
    // aliasing: out written over gate (KERNELS.md: out may alias)
    std::vector<float> alias = gate;
    emuLaunch({ceilDiv(n, 256), 1, 1}, JANUS_THREADS, 0,
              [&] { janus_swiglu_forward(alias.data(), alias.data(), up.data(), n); });
    reportBits("swiglu forward, out aliases gate", alias, refOut, "Simd.swiglu");
}

// --------------------------------------------------------------------------------- add, scale

void addScale(std::mt19937& rng) {
    const ll n = 1000;
    std::vector<float> acc = randn(rng, n), x = randn(rng, n, 1e-3f), ref = acc;
    for (ll i = 0; i < n; i++) ref[i] += x[i];  // CpuBackend.add
    emuLaunch({ceilDiv(n, 256), 1, 1}, JANUS_THREADS, 0, [&] { janus_add(acc.data(), x.data(), n); });
    reportBits("add", acc, ref, "CpuBackend.add");
    const float factor = (float)(1.0 / (3.7 + 1e-6));  // GradClip.scale: coef rounded to float
    std::vector<float> g = randn(rng, n), gref = g;
    for (ll i = 0; i < n; i++) gref[i] *= factor;  // GradClip.scale's g[j] *= factor
    emuLaunch({ceilDiv(n, 256), 1, 1}, JANUS_THREADS, 0, [&] { janus_scale(g.data(), n, factor); });
    reportBits("scale", g, gref, "GradClip.scale");
}

// ---------------------------------------------------------------------------------------- adamw

// AdamW.Coefficients.of (doubles, each coefficient cast to float).
struct AdamWCoef {
    float decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, sqrtBiasCorrection2, eps, negStepSize;
};
AdamWCoef adamwCoef(double b1, double b2, double eps, double wd, double lr, long step) {
    double bc1 = 1 - std::pow(b1, (double)step), bc2 = 1 - std::pow(b2, (double)step);
    return {(float)(1 - lr * wd), (float)b1, (float)(1 - b1), (float)b2, (float)(1 - b2), (float)std::sqrt(bc2),
            (float)eps, (float)-(lr / bc1)};
}

// AdamW.step's order: AdamWKernel.scale(p, decay) when decay != 1, then AdamWKernel.update (scalar tail;
// the vector body is the same operations: FloatVector.fma where the tail has Math.fma).
void adamwRef(std::vector<float>& p, const std::vector<float>& g, std::vector<float>& m, std::vector<float>& v,
              const AdamWCoef& k) {
    for (size_t i = 0; i < p.size(); i++) {
        if (k.decay != 1.0f) p[i] *= k.decay;
        float gi = g[i];
        float mi = std::fma(gi, k.oneMinusBeta1, m[i] * k.beta1);
        float vi = v[i] * k.beta2 + k.oneMinusBeta2 * gi * gi;
        float denom = (float)std::sqrt((double)vi) / k.sqrtBiasCorrection2 + k.eps;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] + k.negStepSize * mi / denom;
    }
}

void adamw(std::mt19937& rng, double wd) {
    const ll n = 3001;
    std::vector<float> p = randn(rng, n), m(n, 0.0f), v(n, 0.0f);
    std::vector<float> rp = p, rm = m, rv = v;
    for (long step = 1; step <= 3; step++) {
        std::vector<float> g = randn(rng, n, step == 2 ? 1e-3f : 1.0f);
        if (step == 3) g[10] = 0.0f, g[11] = -0.0f, g[12] = 1e-30f, g[13] = NAN, g[14] = INFINITY;  // NaN/inf propagate
        AdamWCoef k = adamwCoef(0.9, 0.95, 1e-8, wd, 3e-3, step);
        adamwRef(rp, g, rm, rv, k);
        emuLaunch({ceilDiv(n, 256), 1, 1}, JANUS_THREADS, 0, [&] {
            janus_adamw_step(p.data(), g.data(), m.data(), v.data(), n, k.beta1, k.oneMinusBeta1, k.beta2,
                             k.oneMinusBeta2, k.eps, k.sqrtBiasCorrection2, k.negStepSize, k.decay);
        });
    }
    std::vector<float> all = p, ref = rp;
    all.insert(all.end(), m.begin(), m.end()), all.insert(all.end(), v.begin(), v.end());
    ref.insert(ref.end(), rm.begin(), rm.end()), ref.insert(ref.end(), rv.begin(), rv.end());
    char name[64];
    std::snprintf(name, sizeof name, "adamw fp32, 3 steps, wd=%g (p,m,v)", wd);
    reportBits(name, all, ref, "AdamW.step/AdamWKernel");
}

// AdamW8bit.Coefficients.of (float arithmetic).
struct Adamw8Coef {
    float beta1, oneMinusBeta1, beta2, oneMinusBeta2, stepSize, c2eps, decay;
    bool decays;
};
Adamw8Coef adamw8Coef(double beta1, double beta2, double epsD, double lr, double wdD, long step) {
    float b1 = (float)beta1, b2 = (float)beta2, eps = (float)epsD, rate = (float)lr, wd = (float)wdD;
    float c1 = 1.0f - (float)std::pow((double)b1, (double)step);
    float c2 = (float)std::sqrt((double)(1.0f - (float)std::pow((double)b2, (double)step)));
    float stepSize = -rate * c2 / c1;
    return {b1, 1.0f - b1, b2, 1.0f - b2, stepSize, c2 * eps, 1.0f - rate * wd, wd > 0.0f};
}

void adamw8bitFp32State(std::mt19937& rng, double wd) {
    const ll n = 1000;  // < 4096: the fp32-state path
    std::vector<float> p = randn(rng, n), m(n, 0.0f), v(n, 0.0f);
    std::vector<float> rp = p, rm = m, rv = v;
    for (long step = 1; step <= 3; step++) {
        std::vector<float> g = randn(rng, n, step == 2 ? 10.0f : 1.0f);
        if (step == 2) g[7] = NAN, g[8] = -INFINITY, g[9] = 0.0f;  // non-finite: moments reset, p untouched
        Adamw8Coef k = adamw8Coef(0.9, 0.999, 1e-8, 1e-3, wd, step);
        if (!k.decays) k.decay = 0.5f;  // the flag, not the factor, decides (a kernel that multiplies anyway fails)
        // AdamW8bit.fp32StateUpdate (fp32 parameters: store.round is the identity)
        for (ll j = 0; j < n; j++) {
            float gj = g[j];
            if (!std::isfinite(gj)) { rm[j] = 0.0f; rv[j] = 0.0f; continue; }
            rm[j] = k.beta1 * rm[j] + k.oneMinusBeta1 * gj;
            rv[j] = k.beta2 * rv[j] + k.oneMinusBeta2 * (gj * gj);
            float x = rp[j] + k.stepSize * rm[j] / ((float)std::sqrt((double)rv[j]) + k.c2eps);
            if (k.decays) x = x * k.decay;
            rp[j] = x;
        }
        emuLaunch({ceilDiv(n, 256), 1, 1}, JANUS_THREADS, 0, [&] {
            janus_adamw8bit_fp32state_step(p.data(), g.data(), m.data(), v.data(), n, k.beta1, k.oneMinusBeta1, k.beta2,
                                           k.oneMinusBeta2, k.stepSize, k.c2eps, k.decay, k.decays ? 1 : 0);
        });
    }
    std::vector<float> all = p, ref = rp;
    all.insert(all.end(), m.begin(), m.end()), all.insert(all.end(), v.begin(), v.end());
    ref.insert(ref.end(), rm.begin(), rm.end()), ref.insert(ref.end(), rv.begin(), rv.end());
    char name[64];
    std::snprintf(name, sizeof name, "adamw8bit fp32 state, 3 steps, wd=%g", wd);
    reportBits(name, all, ref, "AdamW8bit.fp32StateUpdate");
}

// ------------------------------------------------------------------------------- sum of squares

// The kernels' documented fixed order, transcribed: per-thread grid-stride sums, warp butterfly (lane l
// adds lane l^o for o = 16..1), warp 0 over the warp partials the same way.
double fixedOrderBlockSum(std::vector<double> x /* 256 per-thread values */) {
    auto butterfly = [](std::vector<double>& lanes) {
        for (int o = 16; o > 0; o >>= 1) {
            std::vector<double> next(32);
            for (int l = 0; l < 32; l++) next[l] = lanes[l] + lanes[l ^ o];
            lanes = next;
        }
    };
    std::vector<double> warpSums(32, 0.0);
    for (int w = 0; w < 8; w++) {
        std::vector<double> lanes(x.begin() + 32 * w, x.begin() + 32 * w + 32);
        butterfly(lanes);
        warpSums[w] = lanes[0];
    }
    butterfly(warpSums);
    return warpSums[0];
}

double gradNorm(const std::vector<std::vector<float>>& tensors, std::vector<double>* partialsOut) {
    double out = -1;
    bool first = true;
    for (const auto& x : tensors) {
        const ll n = (ll)x.size();
        if (n == 0) continue;  // KERNELS.md: n = 0 launches nothing
        const unsigned parts = std::min(ceilDiv(n, 4096), 1024u);
        std::vector<double> partial(parts);
        emuLaunch({parts, 1, 1}, JANUS_THREADS, 0, [&] { janus_sum_squares_partial(partial.data(), x.data(), n); });
        emuLaunch({1, 1, 1}, JANUS_THREADS, 0,
                  [&] { janus_sum_finalize(&out, partial.data(), (int)parts, first ? 0 : 1); });
        first = false;
        if (partialsOut) partialsOut->insert(partialsOut->end(), partial.begin(), partial.end());
    }
    return out;
}

void sumSquares(std::mt19937& rng) {
    std::vector<std::vector<float>> tensors = {randn(rng, 70000), randn(rng, 7, 1e3f), {}, randn(rng, 10000, 1e-3f)};
    std::vector<double> partials, again;
    double got = gradNorm(tensors, &partials), got2 = gradNorm(tensors, &again);
    double want = 0;  // GradClip.sumOfSquares' values, summed in double in element order
    for (const auto& t : tensors)
        for (float x : t) want += (double)x * x;
    reportErr("sum_squares partial+finalize", std::fabs(got - want) / want, 1e-13, "relative, vs in-order double sum");
    // the documented fixed order, bit for bit, and two runs identical
    long long bad = 0, total = 0;
    size_t at = 0;
    for (const auto& x : tensors) {
        const ll n = (ll)x.size();
        if (n == 0) continue;
        const unsigned parts = std::min(ceilDiv(n, 4096), 1024u);
        for (unsigned b = 0; b < parts; b++, at++, total++) {
            std::vector<double> threads(256, 0.0);
            for (int t = 0; t < 256; t++)
                for (ll i = (ll)b * 256 + t; i < n; i += (ll)parts * 256) threads[t] += (double)x[i] * (double)x[i];
            double ref = fixedOrderBlockSum(threads);
            bad += std::memcmp(&ref, &partials[at], 8) != 0;
        }
    }
    bool same = std::memcmp(&got, &got2, 8) == 0 && partials.size() == again.size() &&
                std::memcmp(partials.data(), again.data(), 8 * partials.size()) == 0;
    bool fail = bad || !same;
    std::printf("%-40s %lld/%lld partials differ vs the fixed order; rerun %s%s\n", "sum_squares determinism", bad,
                total, same ? "bit-identical" : "DIFFERS", fail ? "  FAIL" : "");
    failures += fail;
}

}  // namespace

int main() {
    std::mt19937 rng(2024);
    casts(rng);
    embedding(rng);
    rmsnormBackward(rng);
    rope(rng, 5, 3, 18, 1.0f);    // 27 pairs: one partial warp
    rope(rng, 5, 3, 18, -1.0f);
    rope(rng, 3, 20, 128, 1.0f);  // 1280 pairs > 1024 threads: the loop inside
    rope(rng, 3, 20, 128, -1.0f);
    swiglu(rng);
    addScale(rng);
    adamw(rng, 0.1);
    adamw(rng, 0.0);  // decay factor 1: the CPU skips the scale, the kernel multiplies by 1
    adamw8bitFp32State(rng, 0.01);
    adamw8bitFp32State(rng, 0.0);
    sumSquares(rng);
    std::printf(failures ? "ops: %d case(s) FAILED\n" : "ops: all cases pass\n", failures);
    return failures ? 1 : 0;
}
