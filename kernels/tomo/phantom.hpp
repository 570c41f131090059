#pragma once
// Test objects: TomoPy's 3-D modified Shepp-Logan phantom, voxelised or
// projected exactly, and a ray-driven projector for arbitrary volumes.
//
// Phantom coordinates follow tomopy.misc.phantom: each axis of the [z][y][x]
// volume spans [-1, 1] over its extent (pixel centres at the ends), and an
// ellipsoid is {p : |((R p) - p0) / (a, b, c)| <= 1} with R TomoPy's Euler
// matrix of (phi, theta, psi) in degrees, p = (z, y, x) in that order. One
// deliberate difference: an axis of extent 1 sits at 0 (TomoPy puts it at
// -1, outside every ellipsoid), so a single-slice phantom is the central one.
// Projection geometry is recon.hpp's: the phantom's centre lies on the
// rotation axis, which passes through detector column `center`.
#include <vector>

#include "kernels/common/views.hpp"

namespace beamflow::kernels {

struct Ellipsoid {
  double value;            // added inside (attenuation per pixel)
  double a, b, c;          // semi-axes, in units of the half volume
  double x0, y0, z0;       // centre after rotation (TomoPy's x0, y0, z0)
  double phi, theta, psi;  // Euler angles, degrees
};

// TomoPy's shepp3d parameters (modified Shepp-Logan, Toft's contrasts).
std::vector<Ellipsoid> shepp_logan_ellipsoids();

// Voxelises: out(z, y, x) = sum of the values of the ellipsoids containing
// the voxel centre.
void phantom_3d(const std::vector<Ellipsoid>& ellipsoids, Volume out);
// TomoPy's shepp3d: the Shepp-Logan ellipsoids, clipped at 0.
void shepp_logan_3d(Volume out);

// Exact line integrals (in pixels times value) of the ellipsoids through
// every detector pixel centre, out [row][angle][column]. Rows are the z
// slices of a [rows][grid][grid] volume as phantom_3d would voxelise it;
// grid 0 means the detector width.
void project_ellipsoids(const std::vector<Ellipsoid>& ellipsoids, Angles theta, double center,
                        Sinograms out, int grid = 0);

// Ray-driven projection of a voxel volume [z][y][x] (Joseph's method: one
// sample per voxel column or row crossed, linear interpolation across it),
// out [z][angle][column]. The volume's centre lies on the axis.
void project(Kokkos::View<const Real***> vol, Angles theta, double center, Sinograms out);

}  // namespace beamflow::kernels
