#pragma once
// Detector frames to network inputs: log scale, then a bilinear resize with
// half-pixel centres (torch's interpolate(mode="bilinear",
// align_corners=False), so a model trained on torch-preprocessed images sees
// the same values here).
#include "kernels/ml/nn.hpp"
#include "kernels/common/views.hpp"

namespace beamflow::kernels {

// frames [n][h][w] photon counts -> out [n][1][H][W]:
//   out = resize(log1p(max(counts, 0)) * scale).
// Non-finite counts (dead or hot pixels flagged as NaN/inf) count as 0.
// Throws kernels.shape unless out is [n][1][H][W] with H, W >= 1, and
// kernels.argument for a scale that is not a positive finite number.
void log_scale_resize(Kokkos::View<const float***> frames, float scale, nn::Tensor& out);

}  // namespace beamflow::kernels
