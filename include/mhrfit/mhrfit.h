/**
 * @file mhrfit.h
 * @brief Umbrella header: includes every public module of libmhrfit.
 *
 * Modules, in the order data flows: errors and containers (error.h, array.h,
 * value.h), I/O (npy.h, pickle.h, toml.h, json.h, openpose.h, trc.h; datafile.h: any of
 * them by content),
 * stage 1 (ingest.h: person selection, stage-1 files and their cache check),
 * geometry (camera.h, calib.h, similarity.h, up_axis.h), triangulation (layout.h,
 * observations.h, triangulate.h), the body model (rig.h, keypoints.h: joint
 * keypoints, markers, user mappings and their sparse Jacobian; sam3d.h,
 * param_sets.h), fitting (fit.h), fits of any 2-D detector's keypoints without views
 * (detector.h), sequences (smooth.h, sequence.h), the whole pipeline (pipeline.h: what `mhrfit
 * run` does), many sessions and Slurm job arrays (batch.h), the synthetic capture
 * (demo.h), exports (export.h: glTF/GLB, BVH, TRC, per-frame files), pictures and videos
 * (media.h), overlays of the fitted body on the cameras' pictures (overlay.h: drawing, a
 * z-buffered rasteriser), the HTML report of a run (report.h), and the library version
 * (version.h).
 */
#ifndef MHRFIT_MHRFIT_H
#define MHRFIT_MHRFIT_H

#include "mhrfit/array.h"
#include "mhrfit/calib.h"
#include "mhrfit/camera.h"
#include "mhrfit/batch.h"
#include "mhrfit/datafile.h"
#include "mhrfit/demo.h"
#include "mhrfit/detector.h"
#include "mhrfit/error.h"
#include "mhrfit/export.h"
#include "mhrfit/fit.h"
#include "mhrfit/fit_io.h"
#include "mhrfit/sequence.h"
#include "mhrfit/ingest.h"
#include "mhrfit/json.h"
#include "mhrfit/keypoints.h"
#include "mhrfit/layout.h"
#include "mhrfit/media.h"
#include "mhrfit/npy.h"
#include "mhrfit/observations.h"
#include "mhrfit/openpose.h"
#include "mhrfit/overlay.h"
#include "mhrfit/param_sets.h"
#include "mhrfit/pipeline.h"
#include "mhrfit/pickle.h"
#include "mhrfit/report.h"
#include "mhrfit/rig.h"
#include "mhrfit/sam3d.h"
#include "mhrfit/similarity.h"
#include "mhrfit/smooth.h"
#include "mhrfit/toml.h"
#include "mhrfit/trc.h"
#include "mhrfit/triangulate.h"
#include "mhrfit/up_axis.h"
#include "mhrfit/value.h"
#include "mhrfit/version.h"

#endif
