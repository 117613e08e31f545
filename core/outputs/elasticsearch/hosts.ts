/**
 * Host strings as beats reads them: `es1`, `es1:9201`, `https://es1`, `http://es1:9200/prefix`.
 * A host without a scheme takes `protocol` (default http) and `path`; a host without a port
 * gets 9200.
 */
export const DEFAULT_PORT = 9200;

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

export function normalizeHost(
  host: string,
  protocol: 'http' | 'https' | undefined,
  path: string,
): { url: string } | { error: string } {
  const text = HAS_SCHEME.test(host) ? host : `${protocol ?? 'http'}://${host}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: `'${redactUrl(host)}' is not a host name or URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { error: `unsupported scheme '${url.protocol.replace(/:$/, '')}' in '${redactUrl(host)}', expected http or https` };
  }
  if (url.hostname === '') return { error: `no host name in '${redactUrl(host)}'` };
  // WHATWG URL hides a port equal to the scheme's default (https://es:443), so look at the text
  if (url.port === '' && !hasExplicitPort(text)) url.port = String(DEFAULT_PORT);
  if ((url.pathname === '/' || url.pathname === '') && path !== '') {
    url.pathname = path.startsWith('/') ? path : `/${path}`;
  }
  let out = url.toString();
  if (out.endsWith('/') && url.search === '' && url.hash === '') out = out.slice(0, -1);
  return { url: out };
}

/** The URL with any user:password removed, safe for logs and error messages. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

function hasExplicitPort(text: string): boolean {
  const afterScheme = text.replace(HAS_SCHEME, '');
  const authority = afterScheme.split(/[/?#]/, 1)[0] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  return /:\d+$/.test(hostPort) && !/^\[[^\]]*$/.test(hostPort);
}
