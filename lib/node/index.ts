/** The `tf.node` namespace (tfjs-node names): image files and TensorBoard. */
import { decodeImage, decodeJpeg, decodePng, encodeJpeg, encodePng } from './codecs';
import { summaryFileWriter, tensorBoard } from './tensorboard';

export type { JpegFormat, ImageFormat } from './codecs';
export type { TensorBoardCallbackArgs } from './tensorboard';
export { SummaryFileWriter, TensorBoardCallback } from './tensorboard';

export const node = { decodeImage, decodePng, decodeJpeg, encodePng, encodeJpeg, summaryFileWriter, tensorBoard };
