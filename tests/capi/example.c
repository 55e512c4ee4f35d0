/* A llama.cpp-style use of simdnorm's C ABI: RMSNorm over a [n_tokens x n_embd] float tensor
 * whose rows are `row_stride` floats apart (a view into a larger buffer), then the weight.
 * Build: cc example.c -I include -L target/release -lsimdnorm */
#include <stdio.h>
#include <stdlib.h>
#include "simdnorm.h"

int main(void) {
    enum { n_tokens = 3, n_embd = 8, row_stride = 12 };
    float *cur = malloc(sizeof(float) * n_tokens * row_stride);
    float *out = malloc(sizeof(float) * n_tokens * row_stride);
    float weight[n_embd];
    for (int i = 0; i < n_tokens * row_stride; i++) cur[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < n_embd; i++) weight[i] = 1.0f + 0.125f * i;

    /* out = cur / sqrt(mean(cur^2) + eps) * weight, row by row; eps as in LLaMA 3. */
    SimdnormStatus st = simdnorm_rms_norm(SIMDNORM_F32, cur, row_stride, out, row_stride,
                                          n_tokens, n_embd, SIMDNORM_F32, weight, 1e-5f, NULL);
    if (st != SIMDNORM_STATUS_OK) {
        fprintf(stderr, "simdnorm: %s\n", simdnorm_status_message(st));
        return 1;
    }
    printf("isa %s, out[0][0..3] = %.4f %.4f %.4f\n", simdnorm_isa_name(), out[0], out[1], out[2]);
    free(cur);
    free(out);
    return 0;
}
