/* The 3-D view: the body (the run's glTF, skinned and animated), triangulated points coloured by
 * the number of views used, points with an outlier view marked, fitted keypoints and skeleton
 * lines, the cameras as labelled frustums, a floor grid on the up axis; orbit/pan/zoom and a
 * button per camera to look through it. World data sit in a group rotated by meta.up.U (the
 * world's up axis to three.js's +Y). */
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

/** Colours of triangulated points by views used (index = views, 4 = four or more). */
export const VIEW_COLORS = ['#adb5bd', '#adb5bd', '#fab005', '#74b816', '#12b886'];
const OUTLIER_COLOR = '#f03e3e';
const KP_COLOR = '#fd7e14';
const LINK_COLOR = '#e8590c';
const CAM_COLOR = '#5c7cfa';

function circleTexture(ring) {
  const c = document.createElement('canvas');
  c.width = c.height = 64;
  const g = c.getContext('2d');
  g.beginPath();
  g.arc(32, 32, ring ? 26 : 28, 0, 2 * Math.PI);
  if (ring) {
    g.lineWidth = 8;
    g.strokeStyle = '#fff';
    g.stroke();
  } else {
    g.fillStyle = '#fff';
    g.fill();
  }
  const t = new THREE.CanvasTexture(c);
  t.colorSpace = THREE.SRGBColorSpace;
  return t;
}

/** True when WebGL runs in software (SwiftShader, llvmpipe): multisampling is then costly. */
function softwareWebGL() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    const info = gl && gl.getExtension('WEBGL_debug_renderer_info');
    const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    if (gl) gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|software/i.test(name);
  } catch (e) {
    return false;
  }
}

function labelSprite(text, color) {
  const c = document.createElement('canvas');
  const g = c.getContext('2d');
  g.font = 'bold 28px sans-serif';
  c.width = Math.ceil(g.measureText(text).width) + 16;
  c.height = 40;
  g.font = 'bold 28px sans-serif';
  g.fillStyle = 'rgba(255,255,255,0.85)';
  g.fillRect(0, 0, c.width, c.height);
  g.fillStyle = color;
  g.fillText(text, 8, 29);
  const t = new THREE.CanvasTexture(c);
  t.colorSpace = THREE.SRGBColorSpace;
  const s = new THREE.Sprite(new THREE.SpriteMaterial({ map: t, depthTest: false }));
  s.userData.aspect = c.width / c.height;
  return s;
}

export class View3D {
  constructor(canvas, meta, arrays) {
    this.meta = meta;
    this.arrays = arrays;
    this.K = meta.n_keypoints;
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: !softwareWebGL(),
                                              preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color('#f4f5f7');
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.01, 1000);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.enableDamping = false;
    this.controls.addEventListener('change', () => { this.dirty = true; });
    this.scene.add(new THREE.HemisphereLight('#ffffff', '#8899aa', 2.2));
    const sun = new THREE.DirectionalLight('#ffffff', 1.6);
    sun.position.set(2, 5, 3);
    this.scene.add(sun);
    this.world = new THREE.Group(); /* world coordinates, turned so that up is +Y */
    const U = meta.up.U;
    this.world.matrixAutoUpdate = false;
    this.world.matrix.set(U[0], U[1], U[2], 0, U[3], U[4], U[5], 0, U[6], U[7], U[8], 0, 0, 0, 0, 1);
    this.scene.add(this.world);
    this.layers = {};
    this.mixer = null;
    this.bodyDuration = 0;
    this.dirty = true;
    this.buildPoints();
    this.buildKeypoints();
    this.buildCameras();
    this.buildGrid();
    this.frame = 0;
    this.homeView();
    this.cssSize = [0, 0];
    new ResizeObserver((entries) => {
      const r = entries[entries.length - 1].contentRect;
      this.cssSize = [r.width, r.height];
      this.dirty = true;
    }).observe(canvas);
  }

  /** Registers a toggleable layer. */
  addLayer(name, obj, on = true) {
    this.layers[name] = obj;
    obj.visible = on;
  }

  buildPoints() {
    const K = this.K;
    const geo = new THREE.BufferGeometry();
    geo.setAttribute('position', new THREE.BufferAttribute(new Float32Array(K * 3), 3));
    geo.setAttribute('color', new THREE.BufferAttribute(new Float32Array(K * 3), 3));
    this.pointsGeo = geo;
    const mat = new THREE.PointsMaterial({ size: 0.035, vertexColors: true, map: circleTexture(false),
                                           alphaTest: 0.5, sizeAttenuation: true });
    const pts = new THREE.Points(geo, mat);
    pts.frustumCulled = false;
    const ogeo = new THREE.BufferGeometry();
    ogeo.setAttribute('position', new THREE.BufferAttribute(new Float32Array(K * 3), 3));
    this.outlierGeo = ogeo;
    const omat = new THREE.PointsMaterial({ size: 0.07, color: OUTLIER_COLOR, map: circleTexture(true),
                                            alphaTest: 0.5, transparent: true });
    const opts = new THREE.Points(ogeo, omat);
    opts.frustumCulled = false;
    const group = new THREE.Group();
    group.add(pts, opts);
    this.world.add(group);
    this.addLayer('triangulated', group, !!this.arrays.tri_points);
    this.viewColors = VIEW_COLORS.map((c) => new THREE.Color(c));
  }

  buildKeypoints() {
    const K = this.K;
    const geo = new THREE.BufferGeometry();
    geo.setAttribute('position', new THREE.BufferAttribute(new Float32Array(K * 3), 3));
    this.kpGeo = geo;
    /* keypoints and skeleton drawn over the body (no depth test) */
    const pts = new THREE.Points(geo, new THREE.PointsMaterial({ size: 0.022, color: KP_COLOR, depthTest: false,
                                                               map: circleTexture(false), alphaTest: 0.5 }));
    pts.frustumCulled = false;
    pts.renderOrder = 2;
    const links = this.meta.links;
    const lgeo = new THREE.BufferGeometry();
    lgeo.setAttribute('position', new THREE.BufferAttribute(new Float32Array(links.length * 6), 3));
    this.linkGeo = lgeo;
    const lines = new THREE.LineSegments(lgeo, new THREE.LineBasicMaterial({ color: LINK_COLOR, depthTest: false }));
    lines.frustumCulled = false;
    lines.renderOrder = 2;
    this.world.add(pts, lines);
    this.addLayer('keypoints', pts, !!this.arrays.kp);
    this.addLayer('skeleton', lines, !!this.arrays.kp);
  }

  buildCameras() {
    const group = new THREE.Group();
    this.camPoses = [];
    const center = this.sceneCenter();
    for (const cam of this.meta.cams) {
      if (!cam.calibrated) { this.camPoses.push(null); continue; }
      const C = new THREE.Vector3(...cam.center);
      /* camera → world rotation: Rᵀ (rows of R are the camera axes in the world) */
      const R = cam.R;
      const ax = [new THREE.Vector3(R[0], R[1], R[2]), new THREE.Vector3(R[3], R[4], R[5]),
                  new THREE.Vector3(R[6], R[7], R[8])];
      const depth = Math.max(0.15, 0.12 * C.distanceTo(center));
      const w = cam.width || 2 * cam.K[2], h = cam.height || 2 * cam.K[3];
      const corners = [[0, 0], [w, 0], [w, h], [0, h]].map(([u, v]) => {
        const x = (u - cam.K[2]) / cam.K[0], y = (v - cam.K[3]) / cam.K[1];
        return C.clone().addScaledVector(ax[0], x * depth).addScaledVector(ax[1], y * depth).addScaledVector(ax[2], depth);
      });
      const p = [];
      for (const c of corners) p.push(C, c);
      for (let i = 0; i < 4; i++) p.push(corners[i], corners[(i + 1) % 4]);
      const geo = new THREE.BufferGeometry().setFromPoints(p);
      group.add(new THREE.LineSegments(geo, new THREE.LineBasicMaterial({ color: CAM_COLOR })));
      const label = labelSprite(cam.name, CAM_COLOR);
      const lh = 0.35 * depth;
      label.scale.set(lh * label.userData.aspect, lh, 1);
      label.position.copy(C).addScaledVector(ax[1], -0.6 * depth);
      group.add(label);
      this.camPoses.push({ C, ax, cam, w, h });
    }
    this.world.add(group);
    this.addLayer('cameras', group, true);
  }

  /** Centre of the body over the sequence (world), for framing and frustum sizes. */
  sceneCenter() {
    if (this._center) return this._center;
    const src = this.arrays.kp || this.arrays.tri_points;
    const c = new THREE.Vector3();
    let n = 0;
    if (src) {
      for (let i = 0; i + 2 < src.length; i += 3) {
        if (Number.isFinite(src[i]) && Number.isFinite(src[i + 1]) && Number.isFinite(src[i + 2])) {
          c.x += src[i]; c.y += src[i + 1]; c.z += src[i + 2]; n++;
        }
      }
    }
    if (n) c.divideScalar(n);
    this._center = c;
    return c;
  }

  buildGrid() {
    const up = this.meta.up;
    let extent = 4;
    for (const p of this.camPoses) if (p) extent = Math.max(extent, 2.2 * p.C.distanceTo(this.sceneCenter()));
    extent = Math.ceil(extent);
    const grid = new THREE.GridHelper(extent, extent, '#868e96', '#ced4da');
    /* the grid lies in three.js's XZ plane: put it at the floor height, centred under the body */
    const c = this.sceneCenter().clone().applyMatrix4(this.world.matrix);
    grid.position.set(c.x, up.floor, c.z);
    this.scene.add(grid);
    this.addLayer('grid', grid, true);
  }

  /** Adds the body from a glTF binary (ArrayBuffer); resolves when it is in the scene. */
  loadBody(glb) {
    return new Promise((resolve, reject) => {
      new GLTFLoader().parse(glb, '', (gltf) => {
        this.body = gltf.scene;
        this.scene.add(gltf.scene); /* the glTF's own root turns the world to +Y up */
        if (gltf.animations.length) {
          this.mixer = new THREE.AnimationMixer(gltf.scene);
          const clip = gltf.animations[0];
          this.action = this.mixer.clipAction(clip);
          this.action.play();
          this.bodyDuration = clip.duration;
        }
        gltf.scene.traverse((o) => {
          if (o.isMesh) {
            o.frustumCulled = false;
            o.material = new THREE.MeshStandardMaterial({ color: '#c5d4e8', roughness: 0.7, transparent: true,
                                                          opacity: 0.7, depthWrite: false });
          }
        });
        this.addLayer('body', gltf.scene, true);
        this.dirty = true;
        resolve();
      }, reject);
    });
  }

  /** Shows frame f. */
  setFrame(f) {
    this.frame = f;
    const K = this.K, V = this.meta.cams.length;
    const tp = this.arrays.tri_points, tv = this.arrays.tri_views, ti = this.arrays.tri_inlier;
    let nFinite = 0, nOutlier = 0, nNaN = 0;
    if (tp) {
      const pos = this.pointsGeo.attributes.position, col = this.pointsGeo.attributes.color;
      const opos = this.outlierGeo.attributes.position;
      let n = 0, no = 0;
      for (let k = 0; k < K; k++) {
        const i = (f * K + k) * 3;
        if (!(Number.isFinite(tp[i]) && Number.isFinite(tp[i + 1]) && Number.isFinite(tp[i + 2]))) { nNaN++; continue; }
        pos.setXYZ(n, tp[i], tp[i + 1], tp[i + 2]);
        const c = this.viewColors[Math.min(4, tv ? tv[f * K + k] : 4)];
        col.setXYZ(n, c.r, c.g, c.b);
        n++;
        let outlier = false;
        if (ti) for (let v = 0; v < V; v++) if (ti[(f * K + k) * V + v] === 2) outlier = true;
        if (outlier) { opos.setXYZ(no, tp[i], tp[i + 1], tp[i + 2]); no++; }
      }
      this.pointsGeo.setDrawRange(0, n);
      this.outlierGeo.setDrawRange(0, no);
      pos.needsUpdate = col.needsUpdate = opos.needsUpdate = true;
      nFinite = n; nOutlier = no;
    }
    const kp = this.arrays.kp;
    if (kp) {
      const pos = this.kpGeo.attributes.position;
      let n = 0;
      for (let k = 0; k < K; k++) {
        const i = (f * K + k) * 3;
        if (Number.isFinite(kp[i])) { pos.setXYZ(n, kp[i], kp[i + 1], kp[i + 2]); n++; }
      }
      this.kpGeo.setDrawRange(0, n);
      pos.needsUpdate = true;
      const lp = this.linkGeo.attributes.position;
      let m = 0;
      for (const [a, b] of this.meta.links) {
        const ia = (f * K + a) * 3, ib = (f * K + b) * 3;
        if (!Number.isFinite(kp[ia]) || !Number.isFinite(kp[ib])) continue;
        lp.setXYZ(m++, kp[ia], kp[ia + 1], kp[ia + 2]);
        lp.setXYZ(m++, kp[ib], kp[ib + 1], kp[ib + 2]);
      }
      this.linkGeo.setDrawRange(0, m);
      lp.needsUpdate = true;
    }
    if (this.body) {
      /* the exporter's keyframe time of the frame; NaN: a frame it left out (failed), no body */
      const t = this.arrays.body_time ? this.arrays.body_time[f] : f / this.meta.fps;
      this.body.visible = this.layers.body.userData.on !== false && Number.isFinite(t);
      /* the action's time set directly and evaluated with a zero step: exact at every keyframe,
       * the last one included (mixer.setTime would wrap the clip's end to its start) */
      if (this.mixer && Number.isFinite(t)) {
        this.action.time = t;
        this.mixer.update(0);
      }
    }
    this.dirty = true;
    return { nFinite, nOutlier, nNaN };
  }

  /** Frames the body from a default viewpoint (free orbit). */
  homeView() {
    const c = this.sceneCenter().clone().applyMatrix4(this.world.matrix);
    this.controls.enabled = true;
    this.camera.up.set(0, 1, 0);
    this.camera.fov = 45;
    this.camera.position.set(c.x + 2.2, c.y + 1.2, c.z + 3.2);
    this.controls.target.copy(c);
    this.controls.update();
    this.lookingThrough = null;
    this.dirty = true;
  }

  /** Looks through camera i: its centre, axes and vertical field of view. */
  lookThrough(i) {
    const p = this.camPoses[i];
    if (!p) return false;
    const M = this.world.matrix;
    const C = p.C.clone().applyMatrix4(M);
    const fwd = p.ax[2].clone().transformDirection(M);
    const down = p.ax[1].clone().transformDirection(M);
    this.camera.position.copy(C);
    this.camera.up.copy(down).negate();
    const dist = Math.max(0.5, this.sceneCenter().clone().applyMatrix4(M).distanceTo(C));
    this.controls.target.copy(C).addScaledVector(fwd, dist);
    this.camera.lookAt(this.controls.target);
    this.camera.fov = 2 * Math.atan(0.5 * p.h / p.cam.K[1]) * 180 / Math.PI;
    this.camera.updateProjectionMatrix();
    this.controls.update();
    this.lookingThrough = i;
    this.dirty = true;
    return true;
  }

  setLayer(name, on) {
    if (!this.layers[name]) return;
    this.layers[name].visible = on;
    this.layers[name].userData.on = on;
    this.dirty = true;
  }

  resize() {
    const canvas = this.renderer.domElement;
    const [w, h] = this.cssSize;
    if (!w || !h) return;
    if (canvas.width !== Math.round(w * this.renderer.getPixelRatio()) ||
        canvas.height !== Math.round(h * this.renderer.getPixelRatio())) {
      this.renderer.setSize(w, h, false);
      this.camera.aspect = w / h;
      this.camera.updateProjectionMatrix();
      this.dirty = true;
    }
  }

  render(force) {
    this.resize();
    if (!this.dirty && !force) return;
    this.renderer.render(this.scene, this.camera);
    this.dirty = false;
  }
}
