/**
 * A hand-written page (served at /known) whose extraction the tests spell out literally: entities
 * in the title and description, a relative <base href>, every way of writing a link, and links
 * hidden in a script, a comment, a style sheet and a noscript block that must not count.
 */
export function knownPage(origin: string, otherOrigin: string): string {
  const otherHost = otherOrigin.slice('http://'.length);
  return `<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>  Caf&eacute; &amp; Cr&#xE8;me &mdash;
     &lt;Known&gt; page  </title>
  <meta name="Description" content="Entities: &quot;quoted&quot;, 5 &lt; 6 &amp;&amp; caf&#233;">
  <base href="/docs/">
  <link rel="canonical" href="${origin}/known">
</head>
<body>
  <h1>Known page</h1>
  <p>Five words are here&nbsp;now.</p>
  <p><a href="guide.html#intro">Guide</a>
  <a href="/page/1?a=1&amp;b=2">One</a>
  <a href="../page/1?a=1&amp;b=2#again">Again</a>
  <a href="//${otherHost}/page/2">Two</a>
  <a href='HTTP://${otherHost}/page/3'>Three</a>
  <a href=mailto:someone@example.test>Mail</a>
  <a href="javascript:void(0)">JS</a>
  <a name="top">No href</a>
  <A HREF="  sub/page.html?q=caf%C3%A9  ">Sub</A>
  <a href="?q=a b">Query</a>
  <a href="http://exa mple.test/">Broken</a>
  </p>
  <script>document.write('<a href="/from-script">x</a>');</script>
  <!-- <a href="/from-comment">x</a> -->
  <style>a[href="/from-style"] { color: red }</style>
  <noscript><a href="/from-noscript">x</a></noscript>
  <p>Tom &amp; Jerry&#8217;s caf&eacute;
</body>
</html>
`;
}
