/** isGrpcContentType accepts `application/grpc`, `application/grpc+<codec>` and `application/grpc;...`. */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (contentType === undefined || !contentType.startsWith('application/grpc')) return false;
  if (contentType.length === 16) return true;
  const next = contentType.charCodeAt(16);
  return next === 0x2b /* + */ || next === 0x3b /* ; */;
}
