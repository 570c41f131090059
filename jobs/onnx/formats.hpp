#pragma once
// Registers the ONNX formats with the model hub (jobs/models/runtime.hpp):
// "onnx-ml" tree ensembles before "onnx" networks, since an ONNX-ML file is an
// ONNX file too, and the detector-image preprocessing. Idempotent.
namespace beamflow::onnx {

void register_onnx_formats();

}  // namespace beamflow::onnx
