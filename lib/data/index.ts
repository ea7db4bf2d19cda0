/** Data loading: tf.data datasets, IDX files, MNIST / Fashion-MNIST, the bundled sample, and streamed batches. */
export {
  loadIdx,
  parseIdx,
  parseIdxHeader,
  readIdxHeader,
  encodeIdx,
  saveIdx,
  isGzip,
  IDX_MAX_ELEMENTS,
  IDX_MAX_BYTES,
} from './idx';
export type { Idx, IdxDType, IdxData, IdxHeader, IdxFileHeader } from './idx';
export {
  fashionMnist,
  mnist,
  bundledSampleDir,
  loadIdxPair,
  imagesToTensor,
  labelsToTensor,
  idxFileNames,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
} from './mnist';
export type { MnistOptions, MnistData, Split, LabelMode } from './mnist';
export { idxBatches } from './stream';
export type { IdxBatchesOptions, IdxBatchDataset } from './stream';
export { Dataset, array, generator, func, zip, datasetFromIteratorFn } from './dataset';
export type { BatchOf, DatasetContainer, IteratorSource } from './dataset';
export { LazyIterator, iteratorFrom } from './lazy_iterator';
export type { Result as IteratorResultOf, IteratorLike } from './lazy_iterator';
export { csv, CSVDataset } from './csv';
export type { CSVConfig, ColumnConfig, ColumnDType, CsvElement, CsvRow, CsvValue } from './csv';
export { imageFolder, ImageFolderDataset, IMAGE_EXTENSIONS, type ImageFolderOptions, type ImageBatch, type LabelMode as ImageLabelMode } from './image_folder';
