/** The `tf.image` namespace (TF.js names and argument orders). */
import { cropAndResize } from './crop_and_resize';
import { flipLeftRight } from './flip';
import { rgbToGrayscale } from './color';
import { resizeBilinear, resizeNearestNeighbor } from './resize';

export type { CropMethod } from './crop_and_resize';
export { cropAndResize, flipLeftRight, rgbToGrayscale, resizeBilinear, resizeNearestNeighbor };

export const image = { resizeBilinear, resizeNearestNeighbor, flipLeftRight, cropAndResize, rgbToGrayscale };
