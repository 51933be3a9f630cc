// The environment that points onnxruntime-node's WebGPU EP (Dawn → Vulkan) at an unpacked Mesa lavapipe (dpkg -x of
// bookworm-backports' mesa-vulkan-drivers, libdrm2, libdrm-amdgpu1, libvulkan1; see README "Use the real model").
// The dynamic loader reads LD_LIBRARY_PATH only at process start, so callers run ORT in a child with this env.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** process.env plus VK_ICD_FILENAMES / LD_LIBRARY_PATH for the lavapipe under `root`; process.env when no root. */
export function mesaEnv(root: string | undefined): NodeJS.ProcessEnv {
  if (!root) return process.env;
  const lib = path.join(root, 'usr/lib/x86_64-linux-gnu');
  const icd = path.join(root, 'usr/share/vulkan/icd.d/lvp_icd.json');
  if (!existsSync(path.join(lib, 'libvulkan_lvp.so')) || !existsSync(icd)) throw new Error(`--mesa ${root}: no lavapipe there (expected ${lib}/libvulkan_lvp.so and ${icd})`);
  return { ...process.env, VK_ICD_FILENAMES: icd, LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
}
