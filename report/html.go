package report

import (
	"bufio"
	_ "embed"
	"html"
	"io"
)

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

// DataID is the id of the script element that holds the report's JSON.
const DataID = "kcovdf-data"

// WriteHTML writes a report of the tasks as one HTML page that needs no
// network: its style, script and data are inline. The page builds the
// rows of a call tree only when they are expanded, so that a full trace's
// report opens quickly.
func WriteHTML(w io.Writer, tasks []Task, opt Options) error {
	d, err := Collect(tasks, opt)
	if err != nil {
		return err
	}
	return WriteData(w, d)
}

// WriteData writes the page of collected data.
func WriteData(w io.Writer, d *Data) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	title := html.EscapeString(d.Title)
	bw.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	bw.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	// No request may leave the page, even one a value's text could smuggle in.
	bw.WriteString("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n")
	bw.WriteString("<title>" + title + "</title>\n<style>\n")
	bw.WriteString(pageCSS)
	bw.WriteString("</style>\n</head>\n<body>\n")
	bw.WriteString(pageBody)
	// The JSON encoder escapes <, > and &, so no value can close the
	// script element.
	bw.WriteString("<script type=\"application/json\" id=\"" + DataID + "\">")
	jw := &jsonWriter{w: bw}
	if err := jw.data(d); err != nil {
		return err
	}
	bw.WriteString("</script>\n<script>\n")
	bw.WriteString(pageJS)
	bw.WriteString("</script>\n</body>\n</html>\n")
	return bw.Flush()
}

// pageBody is the skeleton the script fills in.
const pageBody = `<header>
<h1 id="title"></h1>
<div id="summary"></div>
<nav id="tabs">
<button data-tab="calls" class="on">Calls</button>
<button data-tab="funcs">Functions</button>
<button data-tab="errnos">Errnos</button>
<button data-tab="capture">Capture</button>
</nav>
</header>
<main>
<section id="tab-calls" class="tab on">
<form id="search">
<select id="mode" aria-label="search by">
<option value="func">function</option>
<option value="value">value</option>
<option value="errno">errno</option>
</select>
<input id="q" type="search" placeholder="function name or regular expression" aria-label="search" autocomplete="off">
<button type="submit">Search</button>
<button type="button" id="collapse">Collapse all</button>
<span id="hits"></span>
</form>
<div id="calls-body">
<div id="results" hidden></div>
<div id="trees"></div>
<aside id="detail"><p class="hint">Click a call to see its values in full. Click ▸ to expand; shift-click expands a whole subtree.</p></aside>
</div>
</section>
<section id="tab-funcs" class="tab">
<div class="toolbar"><input id="fq" type="search" placeholder="filter functions" aria-label="filter functions" autocomplete="off"> <span id="fcount"></span></div>
<div id="funcs-body">
<div id="ftable-wrap"><table id="ftable"><thead><tr>
<th data-sort="name">function</th><th data-sort="calls" class="num">calls</th><th data-sort="errors" class="num">errors</th><th>distinct values per argument</th>
</tr></thead><tbody></tbody></table></div>
<div id="hists"><p class="hint">Click a function to see its value histograms.</p></div>
</div>
</section>
<section id="tab-errnos" class="tab"></section>
<section id="tab-capture" class="tab"></section>
</main>
<noscript>This report needs JavaScript to render its data.</noscript>
`
