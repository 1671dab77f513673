import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, inlineScriptHashes } from './security-headers.js';

const sha = (body: string) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;

describe('content security policy of an exported page', () => {
  it('allows exactly the inline scripts the page carries, by hash, and no external script', () => {
    const html =
      '<html><head><script src="/_next/static/chunks/a.js" async=""></script></head>' +
      '<body><script>self.__next_f.push([1,"x"])</script><script id="_R_">self.__next_f.push([2])</script>' +
      '<script>self.__next_f.push([1,"x"])</script><script></script></body></html>';
    expect(inlineScriptHashes(html)).toEqual([sha('self.__next_f.push([1,"x"])'), sha('self.__next_f.push([2])')]);
    const policy = contentSecurityPolicy(html);
    expect(policy).toContain(`script-src 'self' ${sha('self.__next_f.push([1,"x"])')} ${sha('self.__next_f.push([2])')};`);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).toContain("object-src 'none'");
    expect(policy).not.toContain('unsafe-eval');
  });

  it("a page without inline scripts gets script-src 'self' only", () => {
    expect(contentSecurityPolicy('<html>wall</html>')).toContain("script-src 'self';");
  });

  it('without a tile server, images come from the dashboard itself (and data:/blob:) only', () => {
    const policy = contentSecurityPolicy('<html>wall</html>');
    expect(policy).toContain("img-src 'self' data: blob:;");
    expect(policy).not.toMatch(/https?:\/\//);
  });

  it('with a tile server, img-src allows that one origin and nothing else changes', () => {
    const html = '<html><script>self.__next_f.push([1])</script></html>';
    const without = contentSecurityPolicy(html);
    const withTiles = contentSecurityPolicy(html, { tileOrigin: 'http://tiles.ops.local:8080' });
    expect(withTiles).toContain("img-src 'self' data: blob: http://tiles.ops.local:8080;");
    expect(withTiles.replace(' http://tiles.ops.local:8080', '')).toBe(without);
    // Tiles are images: scripts, connections and frames stay same-origin.
    expect(withTiles).toContain("connect-src 'self';");
    expect(withTiles).toContain("default-src 'self';");
  });
});
