export {
  ONNX_FLOAT,
  ONNX_INT32,
  ONNX_INT64,
  encodeModel,
  type AttributeValue,
  type GraphNode,
  type GraphSpec,
  type Initializer,
  type TensorInfo,
} from './onnx-graph-builder.js';
