/**
 * The HTML + plain-text email for codes and magic links. Caller-supplied
 * `email_content` texts are plain text: every one is HTML-escaped, and the
 * colour must be a hex colour, so nothing a caller sends becomes markup.
 */
export interface EmailContent {
  subject?: string;
  primaryColor?: string;
  headerText?: string;
  bodyText?: string;
  linkText?: string;
  infoText?: string;
  footerText?: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const HEX_COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;

/** Renders an email carrying either a one-time `code` or a magic `link`. */
export function renderEmail(appName: string, content: EmailContent | undefined, secret: { code: string } | { link: string }, expiresInMinutes: number): RenderedEmail {
  const color = content?.primaryColor && HEX_COLOR.test(content.primaryColor) ? content.primaryColor : '#1f6feb';
  const isCode = 'code' in secret;
  const subject = (content?.subject ?? (isCode ? `Your ${appName} code` : `Sign in to ${appName}`)).replace(/[\r\n]+/g, ' ');
  const header = content?.headerText ?? (isCode ? 'Your verification code' : `Sign in to ${appName}`);
  const body = content?.bodyText ?? (isCode ? 'Enter this code to continue:' : 'Click the button below to sign in:');
  const info = content?.infoText ?? `It expires in ${expiresInMinutes} minutes. If you did not ask for it, ignore this email.`;
  const footer = content?.footerText ?? `Sent by ${appName}`;
  const linkText = content?.linkText ?? 'Sign in';

  const text = [header, '', body, '', isCode ? secret.code : secret.link, '', info, '', footer].join('\n');
  const action = isCode
    ? `<p style="font-size:32px;letter-spacing:6px;font-weight:bold;color:${color}">${escapeHtml(secret.code)}</p>`
    : `<p><a href="${escapeHtml(secret.link)}" style="display:inline-block;padding:12px 20px;background:${color};color:#fff;text-decoration:none;border-radius:6px">${escapeHtml(linkText)}</a></p>` +
      `<p style="font-size:12px;color:#555">Or open this address: ${escapeHtml(secret.link)}</p>`;
  const html = [
    '<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px;margin:auto;padding:24px">',
    `<h1 style="color:${color};font-size:20px">${escapeHtml(header)}</h1>`,
    `<p>${escapeHtml(body)}</p>`,
    action,
    `<p style="color:#555">${escapeHtml(info)}</p>`,
    `<hr><p style="font-size:12px;color:#777">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
