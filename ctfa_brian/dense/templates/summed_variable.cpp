{# USES_VARIABLES { N } #}
{% extends 'common_group.cpp' %}
{# ctfa_brian dense device: Brian2's summed_variable template, plus one loop without index
   arrays for an all-to-all projection whose synapse k is i * n_post + j #}

{% block maincode %}
    {% set _target_var_array = get_array_name(_target_var) %}
    {% set _index_array = get_array_name(_index_var) %}
    //// MAIN CODE ////////////
    const int _target_size = {{constant_or_scalar(_target_size_name, variables[_target_size_name])}};

    // Set all the target variable values to zero
    {{ openmp_pragma('parallel-static') }}
    for (int _target_idx=0; _target_idx<_target_size; _target_idx++)
    {
        {{_target_var_array}}[_target_idx + {{_target_start}}] = 0;
    }

    // scalar code
    const size_t _vectorisation_idx = -1;
    {{scalar_code|autoindent}}

    {% if dense %}
    const int _n_pre = {{dense[0]}}, _n_post = {{dense[1]}};
    if ({{N}} == _n_pre * _n_post)
    {
        // dense: synapse k = i * n_post + j, no index arrays
        for(int _i=0; _i<_n_pre; _i++)
        {
            for(int _j=0; _j<_n_post; _j++)
            {
                const size_t _idx = (size_t)_i * _n_post + _j;
                const size_t _vectorisation_idx = _idx;
                {{dense_code(vector_code)|autoindent}}
                {{_target_var_array}}[{{'_j' if _index_array.endswith('__synaptic_post') else '_i'}} + {{_target_start}}] += _synaptic_var;
            }
        }
    }
    else
    {% endif %}
    for(int _idx=0; _idx<{{N}}; _idx++)
    {
        // vector code
        const size_t _vectorisation_idx = _idx;
        {{vector_code|autoindent}}
        {{_target_var_array}}[{{_index_array}}[_idx]] += _synaptic_var;
    }
{% endblock %}
